package broker

// HeaderStreamEntryID holds an entry id that a front-end assigned to a record
// (the Redis stream id "<ms>-<seq>" of an XADD). It names the record's place
// in the stream it was written to, so dead-lettering drops it: in the
// dead-letter target the record is a new entry and gets a new id.
const HeaderStreamEntryID = "x-gannet-entry-id"
