package kafka

import (
	"cmp"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// versionRange is what ApiVersions advertises for one API.
type versionRange struct{ min, max int16 }

// apiVersions lists every API the front-end answers, with the versions it
// implements. Produce starts at v3 and Fetch at v4 because storage holds
// RecordBatch v2 only (older message formats would need down-conversion);
// Fetch stops at v12 because v13 names topics by id. Versions above what
// kmsg knows are cut to kmsg's maximum at lookup.
var apiVersions = map[kmsg.Key]versionRange{
	kmsg.Produce:                 {3, 11},
	kmsg.Fetch:                   {4, 12},
	kmsg.ListOffsets:             {1, 8},
	kmsg.Metadata:                {0, 12},
	kmsg.OffsetCommit:            {0, 9},
	kmsg.OffsetFetch:             {0, 9},
	kmsg.FindCoordinator:         {0, 4},
	kmsg.JoinGroup:               {0, 9},
	kmsg.Heartbeat:               {0, 4},
	kmsg.LeaveGroup:              {0, 5},
	kmsg.SyncGroup:               {0, 5},
	kmsg.DescribeGroups:          {0, 5},
	kmsg.ListGroups:              {0, 4},
	kmsg.ApiVersions:             {0, 3},
	kmsg.CreateTopics:            {0, 7},
	kmsg.DeleteTopics:            {0, 5},
	kmsg.DeleteRecords:           {0, 2},
	kmsg.InitProducerID:          {0, 4},
	kmsg.OffsetForLeaderEpoch:    {0, 4},
	kmsg.AddPartitionsToTxn:      {0, 3},
	kmsg.AddOffsetsToTxn:         {0, 3},
	kmsg.EndTxn:                  {0, 3},
	kmsg.TxnOffsetCommit:         {0, 3},
	kmsg.DescribeConfigs:         {0, 4},
	kmsg.AlterConfigs:            {0, 2},
	kmsg.DeleteGroups:            {0, 2},
	kmsg.OffsetDelete:            {0, 0},
	kmsg.IncrementalAlterConfigs: {0, 1},
	kmsg.CreatePartitions:        {0, 3},
	kmsg.DescribeCluster:         {0, 1},
}

func supported(key int16) bool {
	_, ok := apiVersions[kmsg.Key(key)]
	return ok
}

// versionsFor returns the advertised range of key, capped at kmsg's maximum.
func versionsFor(key int16) (versionRange, bool) {
	r, ok := apiVersions[kmsg.Key(key)]
	if !ok {
		return r, false
	}
	if req := kmsg.RequestForKey(key); req != nil && req.MaxVersion() < r.max {
		r.max = req.MaxVersion()
	}
	return r, true
}

// inRange reports whether version is one we advertise for key.
func inRange(key, version int16) bool {
	r, ok := versionsFor(key)
	return ok && version >= r.min && version <= r.max
}

// apiVersionsResponse answers ApiVersions. A version we do not know gets
// the v0 response with UNSUPPORTED_VERSION and our ranges, which is how
// Kafka lets a newer client find a version both sides speak.
func apiVersionsResponse(version int16) kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	r, _ := versionsFor(int16(kmsg.ApiVersions))
	if version > r.max {
		resp.SetVersion(0)
		resp.ErrorCode = kerr.UnsupportedVersion.Code
	} else {
		resp.SetVersion(version)
	}
	for k := range apiVersions {
		vr, _ := versionsFor(int16(k))
		key := kmsg.NewApiVersionsResponseApiKey()
		key.ApiKey, key.MinVersion, key.MaxVersion = int16(k), vr.min, vr.max
		resp.ApiKeys = append(resp.ApiKeys, key)
	}
	slices.SortFunc(resp.ApiKeys, func(a, b kmsg.ApiVersionsResponseApiKey) int { return cmp.Compare(a.ApiKey, b.ApiKey) })
	return resp
}
