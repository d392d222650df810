package server

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestClientListWhileAnotherClientRenamesItself lists clients while
// another connection pipelines CLIENT SETNAME, SETINFO and HELLO: every
// line shows one of the names, library names and protocols that client
// set, whole. CLIENT LIST reads the other connection's fields while it
// changes them, so under -race this also checks that it does so safely.
func TestClientListWhileAnotherClientRenamesItself(t *testing.T) {
	ts := startServer(t, "")
	ctx := context.Background()
	renamer := redis.NewClient(&redis.Options{Addr: ts.addr, PoolSize: 1, MaxRetries: -1})
	t.Cleanup(func() { renamer.Close() })
	id, err := renamer.ClientID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	lister := ts.client(2)

	done := make(chan error, 1)
	go func() {
		for round := range 20 {
			_, err := renamer.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i := range 100 {
					n := strconv.Itoa(round*100 + i)
					p.Do(ctx, "CLIENT", "SETNAME", "name"+n)
					p.Do(ctx, "CLIENT", "SETINFO", "LIB-NAME", "lib"+n)
					p.Do(ctx, "HELLO", strconv.Itoa(2+i%2))
					p.Ping(ctx)
				}
				return nil
			})
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()

	line := regexp.MustCompile(`^id=` + strconv.FormatInt(id, 10) + ` .* name=(name\d+)? .* cmd=(\w+) .* resp=(2|3) lib-name=(\S*) `)
	libName := regexp.MustCompile(`^lib\d+$`)
	for listed := 0; ; listed++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if listed == 0 {
				t.Fatal("no CLIENT LIST ran while the other client renamed itself")
			}
			return
		default:
		}
		list, err := lister.ClientList(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for l := range strings.SplitSeq(list, "\n") {
			if !strings.HasPrefix(l, "id="+strconv.FormatInt(id, 10)+" ") {
				continue
			}
			found = true
			m := line.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("CLIENT LIST line of the renaming client: %q", l)
			}
			if lib := m[4]; lib != "" && !strings.HasPrefix(lib, "go-redis(") && !libName.MatchString(lib) {
				t.Fatalf("lib-name %q in %q", lib, l)
			}
		}
		if !found {
			t.Fatalf("the renaming client is not in CLIENT LIST:\n%s", list)
		}
	}
}
