package server

import "testing"

// TestHelpReplies pins the HELP replies byte for byte: a usage line, one
// line per subcommand, then HELP.
func TestHelpReplies(t *testing.T) {
	ts := startServer(t, "")
	c := dialRaw(t, ts.addr)
	for _, tc := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"XINFO", "HELP"}, "*5\r\n" +
			"+XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n" +
			"+CONSUMERS <key> <groupname>\r\n" +
			"+GROUPS <key>\r\n" +
			"+STREAM <key> [FULL [COUNT <count>]]\r\n" +
			"+HELP\r\n"},
		{[]string{"xgroup", "help"}, "*7\r\n" +
			"+XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n" +
			"+CREATE <key> <groupname> <id|$> [option]\r\n" +
			"+SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]\r\n" +
			"+DESTROY <key> <groupname>\r\n" +
			"+CREATECONSUMER <key> <groupname> <consumer>\r\n" +
			"+DELCONSUMER <key> <groupname> <consumer>\r\n" +
			"+HELP\r\n"},
		{[]string{"CLIENT", "HELP"}, "*3\r\n" +
			"+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n" +
			"+GETNAME, SETNAME, ID, INFO, LIST, SETINFO\r\n" +
			"+HELP\r\n"},
		{[]string{"GANNET.XGROUP", "HELP"}, "*2\r\n" +
			"+GANNET.XGROUP SETRETRY <key> <group> <max-deliveries> <dead-letter-stream>\r\n" +
			"+HELP\r\n"},
	} {
		if got := c.do(tc.cmd...); got != tc.want {
			t.Errorf("%q = %q, want %q", tc.cmd, got, tc.want)
		}
	}
}
