package server

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
)

// FuzzDispatch feeds arbitrary bytes to a connection of a live server: any
// input must end in replies or a closed connection, never a panic or a hang.
func FuzzDispatch(f *testing.F) {
	seeds := []string{
		"PING\r\n",
		"*3\r\n$4\r\nXADD\r\n$1\r\ns\r\n$1\r\n*\r\n",
		"XADD s * a 1\r\nXADD s MAXLEN ~ 1 LIMIT 1 * a 2\r\nXRANGE s - + COUNT 1\r\nXREVRANGE s + (0 COUNT 5\r\n",
		"XGROUP CREATE s g $ MKSTREAM\r\nXREADGROUP GROUP g c COUNT 1 NOACK STREAMS s >\r\nXPENDING s g - + 10 c\r\n",
		"XCLAIM s g c 0 0-1 IDLE 5 TIME 1 RETRYCOUNT 2 FORCE JUSTID LASTID 0-1\r\nXAUTOCLAIM s g c 0 0 COUNT 2 JUSTID\r\n",
		"XREAD BLOCK 1 STREAMS s nope $ +\r\nXREADGROUP GROUP g c BLOCK 1 STREAMS s >\r\n",
		"XINFO STREAM s FULL COUNT 2\r\nXINFO GROUPS s\r\nXINFO CONSUMERS s g\r\nXSETID s 99-0\r\nXTRIM s MINID 1\r\n",
		"HELLO 3\r\nCLIENT LIST\r\nINFO\r\nCOMMAND INFO xadd nope\r\nCONFIG GET *\r\nSCAN 0 MATCH * COUNT 1 TYPE stream\r\n",
		"GANNET.XGROUP SETRETRY s g 1 dl\r\nXGROUP DELCONSUMER s g c\r\nXGROUP SETID s g 0\r\nDEL s dl\r\n",
		"*2\r\n$4\r\nECHO\r\n$99999999999\r\n",
		"*-1\r\n*0\r\n\r\n\"unbalanced\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	b, err := broker.Open(broker.Options{DataDir: f.TempDir(), Fsync: broker.FsyncNever})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { b.Close() })
	srv, err := New(Deps{Broker: b})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		client, server := net.Pipe()
		c := newConn(srv, server)
		done := make(chan struct{})
		go func() {
			c.Serve()
			close(done)
		}()
		go io.Copy(io.Discard, client)
		client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		client.Write(input)
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("connection did not end after its client closed; input %q", input)
		}
	})
}
