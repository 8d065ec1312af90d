package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// MediaMTX is a real mediamtx (v1.20.1) on loopback for one test: RTSP and
// RTMP on TCP, RTMPS with a self-signed certificate, SRT, WebRTC (WHIP and
// WHEP, its ICE on 127.0.0.1 only) when asked, every port its own, HLS
// off, and every path recorded as MPEG-TS under Dir.
type MediaMTX struct {
	RTSP, RTMP, RTMPS, SRT string // host:port of each listener
	WebRTC                 string // host:port of its WebRTC HTTP side (pages, WHIP, WHEP), when Options.WebRTC
	UDP                    int    // its WebRTC media port (UDP), when Options.WebRTC
	CA                     string // the RTMPS certificate (self-signed: it is its own CA)
	Dir                    string // recordings: Dir/rec/PATH/*.ts
	bin, conf              string
	mu                     sync.Mutex
	cmd                    *exec.Cmd
	exited                 chan struct{}
	log                    *SyncBuffer
	t                      testing.TB // nil when run outside a test (the benchmark)
}

// MediaMTXUser is one user of mediamtx's internal authentication.
type MediaMTXUser struct {
	User, Pass string
	Publish    bool // may publish (everyone may read)
}

// MediaMTXOptions say how to run it. With no users, anyone may publish.
type MediaMTXOptions struct {
	Users         []MediaMTXUser
	SRTPassphrase string // publishers over SRT must give it
	// WebRTC turns on its WebRTC side, on 127.0.0.1 only: its candidates
	// (no interfaces, 127.0.0.1 added), its UDP port, no TCP.
	WebRTC bool
	// ICEServers are handed to WebRTC clients in Link header fields.
	ICEServers []string
	// Extra is YAML added at the top level (pathDefaults and paths are
	// written here already: use PathDefaults for path settings).
	Extra        string
	PathDefaults string // YAML lines added under pathDefaults, indented by two spaces
}

var (
	mtxOnce sync.Once
	mtxBin  string
	mtxErr  error
)

// FindMediaMTX finds mediamtx: $MEDIAMTX, or the project's build script
// (../shared/peers/mediamtx.sh beside the module), which builds it once.
func FindMediaMTX() (string, error) {
	mtxOnce.Do(func() {
		if p := os.Getenv("MEDIAMTX"); p != "" {
			if _, err := os.Stat(p); err != nil {
				mtxErr = fmt.Errorf("$MEDIAMTX: %v", err)
			}
			mtxBin = p
			return
		}
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "peers", "mediamtx.sh")
		if _, err := os.Stat(script); err != nil {
			mtxErr = errors.New("no mediamtx: set MEDIAMTX to its binary, or keep ../shared/peers/mediamtx.sh beside the module")
			return
		}
		// One build at a time: test binaries of several packages run side
		// by side, and the script writes one temporary file.
		lock, err := os.OpenFile(filepath.Join(os.TempDir(), "mpegserver-mediamtx.lock"), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			mtxErr = err
			return
		}
		defer lock.Close()
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
			mtxErr = err
			return
		}
		out, err := exec.Command("bash", script).Output()
		if err != nil {
			mtxErr = fmt.Errorf("building mediamtx with %s: %v", script, err)
			return
		}
		mtxBin = strings.TrimSpace(string(out))
	})
	return mtxBin, mtxErr
}

// MediaMTXBinary is FindMediaMTX for a test, which is skipped, saying why,
// when mediamtx is not there.
func MediaMTXBinary(t testing.TB) string {
	t.Helper()
	bin, err := FindMediaMTX()
	if err != nil {
		t.Skip(err)
	}
	return bin
}

// StartMediaMTX runs mediamtx until the test ends, once it listens; its
// ports are kept for the test (FreeAddr), so Restart gets them back.
func StartMediaMTX(t testing.TB, o MediaMTXOptions) *MediaMTX {
	t.Helper()
	m, err := runMediaMTX(MediaMTXBinary(t), t.TempDir(), o, func() int { return FreePort(t) })
	if err != nil {
		t.Fatal(err)
	}
	m.t = t
	t.Cleanup(func() {
		m.Stop()
		if t.Failed() {
			t.Logf("mediamtx log:\n%s", m.Log())
		}
	})
	return m
}

// RunMediaMTX runs mediamtx outside a test (the benchmark), with its files
// in dir and ports the kernel had free; Stop ends it.
func RunMediaMTX(bin, dir string, o MediaMTXOptions) (*MediaMTX, error) {
	return runMediaMTX(bin, dir, o, func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	})
}

func runMediaMTX(bin, dir string, o MediaMTXOptions, port func() int) (*MediaMTX, error) {
	addr := func() string { return fmt.Sprintf("127.0.0.1:%d", port()) }
	m := &MediaMTX{bin: bin, Dir: dir, log: &SyncBuffer{}, RTSP: addr(), RTMP: addr(), RTMPS: addr(), SRT: addr()}
	m.CA = filepath.Join(m.Dir, "server.crt")
	key := filepath.Join(m.Dir, "server.key")
	if err := selfSigned(m.CA, key); err != nil {
		return nil, err
	}
	var users strings.Builder
	if len(o.Users) == 0 {
		users.WriteString("  - user: any\n    pass:\n    permissions:\n      - action: publish\n      - action: read\n")
	} else {
		users.WriteString("  - user: any\n    pass:\n    permissions:\n      - action: read\n")
		for _, u := range o.Users {
			fmt.Fprintf(&users, "  - user: %q\n    pass: %q\n    permissions:\n      - action: read\n", u.User, u.Pass)
			if u.Publish {
				users.WriteString("      - action: publish\n")
			}
		}
	}
	webrtc := "webrtc: false\n"
	if o.WebRTC {
		m.WebRTC, m.UDP = addr(), port()
		ice := ""
		for _, s := range o.ICEServers {
			ice += fmt.Sprintf("\n  - url: %q", s)
		}
		if ice == "" {
			ice = " []"
		}
		webrtc = fmt.Sprintf("webrtc: true\nwebrtcAddress: %s\nwebrtcLocalUDPAddress: 127.0.0.1:%d\nwebrtcLocalTCPAddress: \"\"\n"+
			"webrtcIPsFromInterfaces: false\nwebrtcAdditionalHosts: [127.0.0.1]\nwebrtcICEServers2:%s\n", m.WebRTC, m.UDP, ice)
	}
	conf := fmt.Sprintf(`logLevel: debug
logDestinations: [stdout]
api: false
metrics: false
pprof: false
playback: false
hls: false
%smoq: false
authMethod: internal
authInternalUsers:
%srtsp: true
rtspTransports: [tcp]
rtspAddress: %s
rtspAuthMethods: [basic, digest]
rtmp: true
rtmpEncryption: optional
rtmpAddress: %s
rtmpsAddress: %s
rtmpServerKey: %s
rtmpServerCert: %s
srt: true
srtAddress: %s
%s
pathDefaults:
  record: true
  recordFormat: mpegts
  recordPath: %s/rec/%%path/%%Y-%%m-%%d_%%H-%%M-%%S-%%f
  recordSegmentDuration: 1h
  srtPublishPassphrase: %s
%s
paths:
  all_others:
`, webrtc, users.String(), m.RTSP, m.RTMP, m.RTMPS, key, m.CA, m.SRT, o.Extra, m.Dir, o.SRTPassphrase, o.PathDefaults)
	m.conf = filepath.Join(m.Dir, "mediamtx.yml")
	if err := os.WriteFile(m.conf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return m, m.start()
}

func (m *MediaMTX) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cmd := exec.Command(m.bin, m.conf)
	cmd.Dir = m.Dir // what it writes of its own (certificates) stays there
	cmd.Stdout, cmd.Stderr = m.log, m.log
	if err := cmd.Start(); err != nil {
		return err
	}
	m.cmd, m.exited = cmd, make(chan struct{})
	exited := m.exited
	go func() { _ = cmd.Wait(); close(exited) }()
	for _, a := range []string{m.RTSP, m.RTMP, m.RTMPS, m.WebRTC} {
		if a == "" {
			continue
		}
		if err := waitListening(a); err != nil {
			_ = cmd.Process.Kill()
			<-exited
			m.cmd = nil
			return fmt.Errorf("mediamtx: %v\n%s", err, m.log.String())
		}
	}
	return nil
}

// Stop stops it (SIGTERM, then SIGKILL after 5 s) and waits.
func (m *MediaMTX) Stop() { m.end(os.Interrupt, 5*time.Second) }

// Kill ends it at once, as a crash would: no goodbye to any client.
func (m *MediaMTX) Kill() { m.end(os.Kill, 0) }

func (m *MediaMTX) end(sig os.Signal, grace time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Signal(sig)
	select {
	case <-m.exited:
	case <-time.After(grace):
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
	m.cmd = nil
}

// Restart starts it again on the same ports (stopping it first if it
// runs).
func (m *MediaMTX) Restart() {
	m.t.Helper()
	m.Stop()
	if err := m.start(); err != nil {
		m.t.Fatal(err)
	}
}

// Log is everything it has logged.
func (m *MediaMTX) Log() string { return m.log.String() }

// WaitLog waits until its log holds substr n times.
func (m *MediaMTX) WaitLog(substr string, n int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for strings.Count(m.log.String(), substr) < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// Recordings lists the MPEG-TS files recorded for a path, oldest first.
func (m *MediaMTX) Recordings(path string) []string {
	files, _ := filepath.Glob(filepath.Join(m.Dir, "rec", path, "*.ts"))
	return files
}

// WHIP is the WHIP endpoint of a path as the library's address
// (whip+http://[token@]host:port/PATH/whip).
func (m *MediaMTX) WHIP(path, token string) string {
	if token != "" {
		token += "@"
	}
	return "whip+http://" + token + m.WebRTC + "/" + path + "/whip"
}

// WHEP is the WHEP endpoint of a path.
func (m *MediaMTX) WHEP(path string) string { return "http://" + m.WebRTC + "/" + path + "/whep" }

// Page is mediamtx's page that plays a path over WebRTC.
func (m *MediaMTX) Page(path string) string { return "http://" + m.WebRTC + "/" + path + "/" }

// RTSPURL is the path read over RTSP.
func (m *MediaMTX) RTSPURL(path string) string { return "rtsp://" + m.RTSP + "/" + path }

// selfSigned writes a P-256 certificate for 127.0.0.1 and localhost, its
// own CA, and its key.
func selfSigned(certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mpegserver test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}
