package ledger

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSCRAMVerifier checks the verifier against the exchange of RFC 7677,
// section 3 (user "user", password "pencil"): the server holding it
// accepts the client's proof and answers with the RFC's signature.
func TestSCRAMVerifier(t *testing.T) {
	b64 := base64.StdEncoding
	salt, err := b64.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	require.NoError(t, err)
	v, err := scramVerifier("pencil", salt, 4096)
	require.NoError(t, err)
	head, keys, ok := strings.Cut(v, "$4096:W22ZaJ0SNY7soEsUEjb6gQ==$")
	require.True(t, ok, v)
	require.Equal(t, "SCRAM-SHA-256", head)
	storedB64, serverB64, ok := strings.Cut(keys, ":")
	require.True(t, ok, v)
	storedKey, err := b64.DecodeString(storedB64)
	require.NoError(t, err)
	serverKey, err := b64.DecodeString(serverB64)
	require.NoError(t, err)

	const nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	authMessage := "n=user,r=rOprNGfwEbeRWgbNEkqO,r=" + nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=" + nonce
	proof, err := b64.DecodeString("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
	require.NoError(t, err)
	clientSignature := hmacSHA256(storedKey, authMessage)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ clientSignature[i]
	}
	got := sha256.Sum256(clientKey)
	require.True(t, hmac.Equal(storedKey, got[:]), "the RFC's client proof verifies")
	require.Equal(t, "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", b64.EncodeToString(hmacSHA256(serverKey, authMessage)))

	s, err := passwordSecret("pencil")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(s, "SCRAM-SHA-256$4096:"), s)
	require.NotEqual(t, v, s, "a fresh salt")
	s, err = passwordSecret("密码")
	require.NoError(t, err)
	require.Equal(t, "密码", s, "left to PostgreSQL, which normalises it first")
}
