package api

import (
	"strconv"
	"sync"
	"unicode/utf8"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/xuncha/xuncha/internal/derrors"
)

// undecodable remembers requests the codec could not decode, by the message
// the server decoded into, until the interceptor refuses them.
//
// gRPC reports a message it cannot decode (a string that is not valid UTF-8,
// a broken wire format) as Internal, before any interceptor runs: the client
// would be told the server failed when it was the client's bytes. The codec
// below decodes as usual; when that fails it records why, by the message it
// was given, and lets the call reach the interceptor, which answers
// INVALID_ARGUMENT naming the field.
var undecodable sync.Map // proto.Message → *derrors.InvalidError

// apiPackage is the proto package of xuncha's own services, all unary.
const apiPackage = "xuncha.v1"

// boundaryCodec is the gRPC server's codec: proto, with decoding failures
// turned into field violations.
type boundaryCodec struct {
	encoding.CodecV2
}

// newBoundaryCodec wraps the registered proto codec.
func newBoundaryCodec() encoding.CodecV2 {
	return boundaryCodec{CodecV2: encoding.GetCodecV2("proto")}
}

// Unmarshal decodes data into v; a failure of a xuncha.v1 request is
// recorded for the interceptor. Other messages (health, reflection, whose
// streams no unary interceptor sees) keep gRPC's own failure: a record
// nobody takes would stay in undecodable for good.
func (c boundaryCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.CodecV2.Unmarshal(data, v)
	m, ok := v.(proto.Message)
	if err == nil || !ok || m.ProtoReflect().Descriptor().ParentFile().Package() != apiPackage {
		return err
	}
	var violations derrors.Violations
	invalidUTF8(data.Materialize(), m.ProtoReflect().Descriptor(), "", &violations)
	if len(violations) == 0 {
		violations.Add("", "the request is not a valid protobuf message")
	}
	proto.Reset(m)
	undecodable.Store(m, &derrors.InvalidError{Violations: violations})
	return nil
}

// decodeFailure returns, and forgets, the decoding failure recorded for req.
func decodeFailure(req any) error {
	if failure, ok := undecodable.LoadAndDelete(req); ok {
		return failure.(*derrors.InvalidError)
	}
	return nil
}

// invalidUTF8 walks the wire form b of a message of type md and names every
// string field (with list indexes) whose bytes are not valid UTF-8.
func invalidUTF8(b []byte, md protoreflect.MessageDescriptor, prefix string, v *derrors.Violations) {
	seen := map[protowire.Number]int{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return
			}
			b = b[n:]
			continue
		}
		val, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return
		}
		b = b[n:]
		fd := md.Fields().ByNumber(num)
		if fd == nil {
			continue
		}
		path := prefix + string(fd.Name())
		if fd.IsList() {
			path += "[" + strconv.Itoa(seen[num]) + "]"
			seen[num]++
		}
		switch {
		case fd.IsMap():
			invalidUTF8(val, fd.Message(), path+".", v)
		case fd.Kind() == protoreflect.StringKind:
			if !utf8.Valid(val) {
				v.Add(path, "must be valid UTF-8")
			}
		case fd.Kind() == protoreflect.MessageKind:
			invalidUTF8(val, fd.Message(), path+".", v)
		}
	}
}
