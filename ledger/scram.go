package ledger

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
)

// scramIterations is PostgreSQL's default (scram_iterations).
const scramIterations = 4096

// passwordSecret is what CREATE ROLE … PASSWORD is given for password: a
// SCRAM-SHA-256 verifier, which PostgreSQL stores as it is, so that the
// password itself is in no statement log (log_statement = ddl). A password
// that is not printable ASCII is sent as it is, because PostgreSQL
// normalises such passwords (SASLprep) before it derives the verifier.
func passwordSecret(password string) (string, error) {
	for _, r := range password {
		if r < 0x20 || r > 0x7e {
			return password, nil
		}
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (it crashes instead)
	return scramVerifier(password, salt, scramIterations)
}

// scramVerifier is PostgreSQL's form of a SCRAM-SHA-256 secret (RFC 5802,
// RFC 7677): SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.
func scramVerifier(password string, salt []byte, iterations int) (string, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("deriving the role's password verifier: %w", err)
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return "SCRAM-SHA-256$" + strconv.Itoa(iterations) + ":" + b64(salt) + "$" + b64(storedKey[:]) + ":" + b64(serverKey), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
