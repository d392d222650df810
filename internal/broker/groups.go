package broker

import "sort"

// GroupStart says where a new group begins reading.
type GroupStart int

const (
	StartAtEnd   GroupStart = iota // only records appended from now on (Redis "$")
	StartAtBegin                   // every retained record (Redis "0")
)

// CreateGroup adds a shared group to a stream. It returns ErrExists if a
// group of that name exists.
func (b *Broker) CreateGroup(streamName, name string, cfg GroupConfig, start GroupStart) (Group, error) {
	b.mu.Lock()
	s, ok := b.streams[streamName]
	if !ok {
		b.mu.Unlock()
		return Group{}, &NotFoundError{"stream", streamName}
	}
	s.groupsMu.Lock()
	_, exists := s.groups[name]
	s.groupsMu.Unlock()
	if exists || (name == "" && s.own != nil) {
		b.mu.Unlock()
		return Group{}, ErrExists
	}
	cfg.Kind = GroupShared
	decl := groupDecl{ID: b.allocGroupID(), Stream: streamName, Name: name, Config: cfg}
	for _, p := range s.partitions() {
		if start == StartAtEnd {
			decl.Start = append(decl.Start, p.log.EndOffset())
		} else {
			decl.Start = append(decl.Start, p.log.StartOffset())
		}
	}
	g := b.attachGroup(s, decl)
	seq := b.logCatalog(catalogChange{Op: "create-group", Group: &decl})
	b.mu.Unlock()
	return Group{g}, b.commit(seq)
}

// attachGroup builds a group's runtime state; the caller holds b.mu.
func (b *Broker) attachGroup(s *stream, decl groupDecl) *group {
	g := &group{b: b, id: decl.ID, name: decl.Name, stream: s, wake: make(chan struct{})}
	g.setConfig(decl.Config)
	var parts []*groupPart
	for i, p := range s.partitions() {
		start := p.log.StartOffset()
		if i < len(decl.Start) {
			start = decl.Start[i]
		}
		parts = append(parts, newGroupPart(g, p, start, b.clock))
	}
	g.parts.Store(&parts)
	s.groupsMu.Lock()
	s.groups[decl.Name] = g
	s.groupsMu.Unlock()
	b.groupIDs[decl.ID] = g
	if decl.ID > b.nextGroup {
		b.nextGroup = decl.ID
	}
	return g
}

// Group returns the shared group name of a stream.
func (b *Broker) Group(streamName, name string) (Group, error) {
	s, err := b.stream(streamName)
	if err != nil {
		return Group{}, err
	}
	s.groupsMu.Lock()
	g, ok := s.groups[name]
	s.groupsMu.Unlock()
	if !ok {
		return Group{}, &NotFoundError{"group", name}
	}
	return Group{g}, nil
}

// Groups lists the shared groups of a stream by name (a queue's own group, named "", included).
func (b *Broker) Groups(streamName string) ([]Group, error) {
	s, err := b.stream(streamName)
	if err != nil {
		return nil, err
	}
	gs := s.groupList()
	sort.Slice(gs, func(i, j int) bool { return gs[i].name < gs[j].name })
	out := make([]Group, len(gs))
	for i, g := range gs {
		out[i] = Group{g}
	}
	return out, nil
}

// DeleteGroup removes a shared group and its pending entries.
func (b *Broker) DeleteGroup(streamName, name string) error {
	b.mu.Lock()
	s, ok := b.streams[streamName]
	if !ok {
		b.mu.Unlock()
		return &NotFoundError{"stream", streamName}
	}
	s.groupsMu.Lock()
	g, ok := s.groups[name]
	if ok && g != s.own {
		delete(s.groups, name)
	}
	s.groupsMu.Unlock()
	if !ok || g == s.own {
		b.mu.Unlock()
		return &NotFoundError{"group", name}
	}
	delete(b.groupIDs, g.id)
	g.close()
	seq := b.logCatalog(catalogChange{Op: "delete-group", Group: &groupDecl{ID: g.id, Stream: streamName, Name: name}})
	b.mu.Unlock()
	return b.commit(seq)
}

// Next returns where the group reads new records from on a partition.
func (h Group) Next(partition int32) int64 {
	gp, err := h.g.part(Ref{Partition: partition})
	if err != nil {
		return 0
	}
	gp.mu.Lock()
	defer gp.mu.Unlock()
	return gp.next
}
