package rtspserver

// OnKeyframeWanted sets fn to be called with a path's name whenever one of
// its readers needs a keyframe to start, or to recover, without waiting
// for the publisher's next one: an RTSP reader that starts playing, or a
// reader that says so through WantKeyframe (the browser view's viewers,
// as they connect or report lost pictures). A publisher in the same
// process answers by asking its encoder for one: mpegserver's
// Server.RequestKeyframe, which merges requests into at most one extra
// keyframe per KeyframeInterval. fn must not block. nil removes it.
func (s *Server) OnKeyframeWanted(fn func(path string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keyWant = fn
}

// WantKeyframe says that a reader of the path needs a keyframe (see
// OnKeyframeWanted).
func (s *Server) WantKeyframe(path string) {
	s.mu.Lock()
	fn := s.keyWant
	s.mu.Unlock()
	if fn != nil {
		fn(cleanPath(path))
	}
}
