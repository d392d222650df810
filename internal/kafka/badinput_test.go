package kafka

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawRequest frames a request header (v1) and body by hand.
func rawRequest(key, version int16, correlation int32, body []byte) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(correlation))
	b = binary.BigEndian.AppendUint16(b, 4)
	b = append(b, "test"...)
	b = append(b, body...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// expectClosed reads until the server closes the connection.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	if n, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("connection not closed by the server (read %d bytes): %v", n, err)
	}
}

// expectServing checks the broker still answers a fresh client.
func expectServing(t *testing.T, tb *testBroker) {
	t.Helper()
	c := dialRaw(t, tb.addr)
	resp := readResponse(t, c, rawRequest(int16(kmsg.ApiVersions), 0, 7, nil))
	if binary.BigEndian.Uint32(resp) != 7 {
		t.Fatalf("correlation id %d", binary.BigEndian.Uint32(resp))
	}
}

func readResponse(t *testing.T, c net.Conn, req []byte) []byte {
	t.Helper()
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatal(err)
	}
	resp := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestBadInputClosesConnectionAndBrokerCarriesOn(t *testing.T) {
	tb := startBroker(t, "", func(c *Config) { c.MaxRequestBytes = 1 << 20 })
	metadataWithNegativeArray := binary.BigEndian.AppendUint32(nil, 0xfffffffe) // v1 topics: -2
	cases := map[string][]byte{
		"oversize":        binary.BigEndian.AppendUint32(nil, 1<<20+1),
		"negative size":   binary.BigEndian.AppendUint32(nil, 0x80000000),
		"unknown api key": rawRequest(9999, 0, 1, nil),
		"unknown version": rawRequest(int16(kmsg.Metadata), 99, 1, nil),
		"truncated body":  rawRequest(int16(kmsg.Metadata), 1, 1, []byte{0, 0, 0, 5, 0}),
		"negative array":  rawRequest(int16(kmsg.Metadata), 1, 1, metadataWithNegativeArray),
		"short header":    {0, 0, 0, 3, 0, 3, 0},
	}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			c := dialRaw(t, tb.addr)
			if _, err := c.Write(req); err != nil {
				t.Fatal(err)
			}
			expectClosed(t, c)
			expectServing(t, tb)
		})
	}
	t.Run("truncated frame", func(t *testing.T) {
		c := dialRaw(t, tb.addr)
		full := rawRequest(int16(kmsg.ApiVersions), 0, 1, nil)
		c.Write(full[:len(full)-3])
		c.(*net.TCPConn).CloseWrite()
		expectClosed(t, c)
		expectServing(t, tb)
	})
}

func TestApiVersionsUnknownVersionAnswersV0(t *testing.T) {
	tb := startBroker(t, "")
	c := dialRaw(t, tb.addr)
	resp := readResponse(t, c, rawRequest(int16(kmsg.ApiVersions), 99, 42, []byte{1, 2, 3}))
	if binary.BigEndian.Uint32(resp) != 42 {
		t.Fatal("wrong correlation id")
	}
	v0 := kmsg.NewPtrApiVersionsResponse()
	v0.SetVersion(0)
	if err := v0.ReadFrom(resp[4:]); err != nil {
		t.Fatal(err)
	}
	if v0.ErrorCode != kerr.UnsupportedVersion.Code || len(v0.ApiKeys) < 20 {
		t.Fatalf("error %d with %d keys", v0.ErrorCode, len(v0.ApiKeys))
	}
	// The connection stays usable for the version the client then picks.
	resp = readResponse(t, c, rawRequest(int16(kmsg.ApiVersions), 2, 43, nil))
	if binary.BigEndian.Uint32(resp) != 43 {
		t.Fatal("wrong correlation id")
	}
}
