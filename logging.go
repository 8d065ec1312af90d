package mpegserver

import (
	"errors"
	"log/slog"
)

// logger is the configured logger, or one that discards.
func logger(c Config) *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// errorClass names the kind of an error for logs and metrics: what
// errors.Is would say.
func errorClass(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{
		{ErrUnauthorized, "unauthorized"}, {ErrDisconnected, "disconnected"}, {ErrStalled, "stalled"}, {ErrUnreachable, "unreachable"},
		{ErrNotInstalled, "not installed"}, {ErrUnknownCodec, "unknown codec"}, {ErrUnsupportedAddress, "unsupported address"},
		{ErrBadParameter, "bad parameter"}, {ErrClosed, "closed"}, {ErrPipeline, "pipeline"},
	} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return "other"
}

// logEvent logs a connection event.
func logEvent(l *slog.Logger, e Event) {
	var attrs []any
	if e.Output != "" {
		attrs = append(attrs, "output", e.Output)
	}
	switch e.Kind {
	case Disconnected:
		l.Warn("connection lost", append(attrs, "class", errorClass(e.Err), "err", e.Err)...)
	case Reconnecting:
		l.Info("reconnecting", append(attrs, "attempt", e.Attempt)...)
	case Reconnected:
		l.Info("reconnected", append(attrs, "attempt", e.Attempt)...)
	case OutputFailed:
		l.Warn("output failed, the others go on", append(attrs, "class", errorClass(e.Err), "err", e.Err)...)
	case Flapping:
		l.Warn("lost again soon after reconnecting: replaced or refused repeatedly", append(attrs, "times", e.Attempt, "err", e.Err)...)
	}
}

// logSetup logs a Setup's outcome.
func logSetup(c Config, d description, err error) {
	l := logger(c)
	if err != nil {
		l.Warn("setup failed", "address", Redact(c.Address), "class", errorClass(err), "err", err)
		return
	}
	attrs := []any{"address", Redact(c.Address), "encoder", d.enc.Element, "width", c.Width, "height", c.Height,
		"fps", c.FrameRate.String(), "bitrate_kbps", c.BitRate}
	if c.Record != "" {
		attrs = append(attrs, "record", Redact(c.Record))
	}
	l.Info("stream set up", attrs...)
}

// logClose logs a session's end with its totals.
func logClose(c Config, st Stats, err error) {
	attrs := []any{"address", Redact(c.Address), "pushed", st.Pushed, "encoded", st.Encoded, "refused", st.Refused,
		"dropped", st.Dropped, "reconnects", st.Reconnects, "down", st.Down, "elapsed", st.Elapsed}
	if err != nil {
		logger(c).Warn("stream closed", append(attrs, "class", errorClass(err), "err", err)...)
		return
	}
	logger(c).Info("stream closed", attrs...)
}
