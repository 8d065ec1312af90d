package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
	"github.com/mpegcoder-go/mpegserver/metrics"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

const (
	password = "s3cretpw42"
	token    = "t0kenpassphrase9"
)

// scrape reads /metrics and parses it as Prometheus does.
func scrape(t *testing.T, url string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	return fams, string(body)
}

// value is a family's value for the stream, or for one label value.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, label ...string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no family %s", name)
	}
	for _, m := range f.Metric {
		match := len(label) == 0
		for _, l := range m.Label {
			if len(label) == 2 && l.GetName() == label[0] && l.GetValue() == label[1] {
				match = true
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("no %s %v", name, label)
	return 0
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitStatus polls an endpoint until it answers code, and says how long
// that took.
func waitStatus(t *testing.T, url string, code int, within time.Duration) time.Duration {
	t.Helper()
	t0 := time.Now()
	for status(t, url) != code {
		if time.Since(t0) > within {
			t.Fatalf("%s did not answer %d within %v", url, code, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(t0)
}

// TestMetricsFollowTheStream scrapes /metrics while a stream runs, while
// its server is gone and after it came back: the figures are those of
// Stats, counters never go back, /readyz follows the state, and no
// password or token is in any metric, label or log record.
func TestMetricsFollowTheStream(t *testing.T) {
	addr := testutil.FreeAddr(t)
	relay := testutil.StartRelayAt(t, addr)
	var logs testutil.SyncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := mpegserver.New()
	if err := s.SetParameter(mpegserver.Size(320, 240), mpegserver.FrameAhead(1), mpegserver.GOPSize(10),
		mpegserver.Reconnect(true), mpegserver.ReconnectMaxWait(300*time.Millisecond), mpegserver.Logger(log)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector("cam", s))
	srv := httptest.NewServer(metrics.Handler(reg, metrics.StreamChecks(s)))
	defer srv.Close()
	if code := status(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before Setup: %d", code)
	}
	if err := s.Setup("rtsp://pub:" + password + "@" + addr + "/cam"); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		fr := make([]byte, 320*240*3)
		for i := 0; ctx.Err() == nil; i++ {
			fr[i%len(fr)]++
			if err := s.ServeFrameContext(ctx, fr); err != nil && ctx.Err() == nil {
				t.Errorf("serving: %v", err)
				return
			}
		}
	}()
	defer func() { stop(); <-fed }()
	if err := relay.Wait(testutil.Context(t, 10*time.Second), "cam", func(i rtspserver.PathInfo) bool { return i.Frames >= 30 }); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, srv.URL+"/readyz", http.StatusOK, 5*time.Second)
	up, text1 := scrape(t, srv.URL)
	if value(t, up, "mpegserver_state", "state", "up") != 1 || value(t, up, "mpegserver_frames_pushed_total") < 30 ||
		value(t, up, "mpegserver_encode_latency_seconds") < 30 || value(t, up, "mpegserver_frames_per_second") <= 0 {
		t.Errorf("while up:\n%s", text1)
	}

	relay.Close()
	t0 := time.Now()
	took := waitStatus(t, srv.URL+"/readyz", http.StatusServiceUnavailable, 5*time.Second)
	t.Logf("/readyz 503 %v after the server went away", took.Round(time.Millisecond))
	if took > time.Second {
		t.Errorf("/readyz flipped %v after the loss, want within 1 s", took)
	}
	down, _ := scrape(t, srv.URL)
	if value(t, down, "mpegserver_state", "state", "reconnecting") != 1 {
		t.Errorf("while down: state reconnecting %v", value(t, down, "mpegserver_state", "state", "reconnecting"))
	}
	for time.Since(t0) < 500*time.Millisecond || s.Stats().Dropped == 0 {
		time.Sleep(20 * time.Millisecond) // down a while: frames are dropped
	}
	relay = testutil.StartRelayAt(t, addr)
	took = waitStatus(t, srv.URL+"/readyz", http.StatusOK, 10*time.Second)
	t.Logf("/readyz 200 again %v after the server returned", took.Round(time.Millisecond))
	if err := relay.Wait(testutil.Context(t, 10*time.Second), "cam", func(i rtspserver.PathInfo) bool { return i.Frames >= 10 }); err != nil {
		t.Fatal(err)
	}
	stop()
	<-fed
	back, text3 := scrape(t, srv.URL)
	st := s.Stats()
	if got := value(t, back, "mpegserver_reconnects_total"); got != float64(st.Reconnects) || got < 1 {
		t.Errorf("reconnects_total %v, Stats %d", got, st.Reconnects)
	}
	if got := value(t, back, "mpegserver_frames_dropped_total"); got != float64(st.Dropped) || got == 0 {
		t.Errorf("frames_dropped_total %v, Stats %d", got, st.Dropped)
	}
	// Served counts a frame whose wait the test cancelled too.
	if got := value(t, back, "mpegserver_frames_served_total"); got != float64(st.Served) || st.Served < st.Pushed+st.Dropped+st.Refused {
		t.Errorf("frames_served_total %v, Stats %+v", got, st)
	}
	// Counters never go back, across the loss.
	for _, scrape := range []map[string]*dto.MetricFamily{down, back} {
		for name, f := range up {
			if f.GetType() != dto.MetricType_COUNTER || len(f.Metric) != 1 {
				continue
			}
			if a, b := value(t, up, name), value(t, scrape, name); b < a {
				t.Errorf("%s went back from %v to %v", name, a, b)
			}
		}
	}
	// A token in an address that fails: logged, redacted.
	s2 := mpegserver.New()
	if err := s2.SetParameter(mpegserver.Logger(log), mpegserver.SetupTimeout(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := s2.Setup("srt://127.0.0.1:9?passphrase=" + token); !errors.Is(err, mpegserver.ErrUnreachable) {
		t.Errorf("Setup to nothing: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	for _, secret := range []string{password, token} {
		for what, text := range map[string]string{"metrics": text1 + text3, "logs": logs.String(), "String": s.String() + s2.String()} {
			if strings.Contains(text, secret) {
				t.Errorf("%q in the %s:\n%s", secret, what, text)
			}
		}
	}
	for _, msg := range []string{`"msg":"stream set up"`, `"msg":"connection lost"`, `"class":"disconnected"`, `"msg":"reconnecting"`,
		`"msg":"reconnected"`, `"msg":"stream closed"`, `"msg":"setup failed"`, "REDACTED"} {
		if !strings.Contains(logs.String(), msg) {
			t.Errorf("no %s in the logs:\n%s", msg, logs.String())
		}
	}
}

// TestMetricsLint: every family has HELP and TYPE and follows
// Prometheus's naming rules (promtool check metrics).
func TestMetricsLint(t *testing.T) {
	relay := testutil.StartRelay(t)
	s := mpegserver.New()
	if err := s.SetParameter(mpegserver.Size(320, 240), mpegserver.Record(t.TempDir()+"/rec.mkv")); err != nil {
		t.Fatal(err)
	}
	if err := s.Setup(relay.URL("lint")); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 5; i++ {
		if err := s.ServeFrameBlock(make([]byte, 320*240*3)); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range map[string]prometheus.Collector{"stream": metrics.NewCollector("cam", s), "relay": metrics.NewRelayCollector(relay, nil)} {
		problems, err := promtest.CollectAndLint(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("%s: %s: %s", name, p.Metric, p.Text)
		}
		if n := promtest.CollectAndCount(c); n == 0 {
			t.Errorf("%s: no metric", name)
		}
	}
}

// TestHealthzFailsWhenWedged: a check that does not answer within a
// second fails /healthz.
func TestHealthzFailsWhenWedged(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	srv := httptest.NewServer(metrics.Handler(prometheus.NewRegistry(), metrics.Checks{
		Alive: func() error { <-block; return nil },
	}))
	defer srv.Close()
	if code := status(t, srv.URL+"/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz of a wedged process: %d", code)
	}
	if code := status(t, srv.URL+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with no check: %d", code)
	}
}

// TestDashboardUsesExportedMetrics: every metric the Grafana dashboard in
// deploy/ queries is one the collectors describe.
func TestDashboardUsesExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("../deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	known := map[string]bool{"process_resident_memory_bytes": true}
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		metrics.NewCollector("x", mpegserver.New()).Describe(ch)
		metrics.NewRelayCollector(&rtspserver.Server{}, nil).Describe(ch)
		close(ch)
	}()
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		name := fq.FindStringSubmatch(d.String())[1]
		known[name] = true
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			known[name+suffix] = true
		}
	}
	used := regexp.MustCompile(`\b(?:mpegserver|process)_[a-z_]+`).FindAllString(string(b), -1)
	if len(used) < 10 {
		t.Fatalf("the dashboard queries only %v", used)
	}
	for _, name := range used {
		if !known[name] {
			t.Errorf("the dashboard queries %s, which nothing exports", name)
		}
	}
}
