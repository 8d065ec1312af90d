package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// MediaMTX is a real mediamtx (v1.20.1) on loopback for one test: RTSP and
// RTMP on TCP, RTMPS with a self-signed certificate, SRT, every port its
// own, WebRTC and HLS off, and every path recorded as MPEG-TS under Dir.
type MediaMTX struct {
	RTSP, RTMP, RTMPS, SRT string // host:port of each listener
	CA                     string // the RTMPS certificate (self-signed: it is its own CA)
	Dir                    string // recordings: Dir/rec/PATH/*.ts
	bin, conf              string
	cmd                    *exec.Cmd
	log                    *SyncBuffer
	t                      testing.TB
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
	// Extra is YAML added at the top level (pathDefaults and paths are
	// written here already: use PathDefaults for path settings).
	Extra        string
	PathDefaults string // YAML lines added under pathDefaults, indented by two spaces
}

// MediaMTXBinary finds mediamtx: $MEDIAMTX, or the project's build script
// (../shared/peers/mediamtx.sh beside the module), which builds it once;
// the test is skipped when neither is there.
func MediaMTXBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("MEDIAMTX"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "peers", "mediamtx.sh")
	if _, err := os.Stat(script); err != nil {
		t.Skip("no mediamtx: set MEDIAMTX to its binary, or keep ../shared/peers/mediamtx.sh beside the module")
	}
	// One build at a time: test binaries of several packages run side by
	// side, and the script writes one temporary file.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "mpegserver-mediamtx.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("bash", script).Output()
	if err != nil {
		t.Fatalf("building mediamtx with %s: %v", script, err)
	}
	os.Setenv("MEDIAMTX", strings.TrimSpace(string(out))) // once per test binary
	return strings.TrimSpace(string(out))
}

// StartMediaMTX runs mediamtx until the test ends, once it listens.
func StartMediaMTX(t testing.TB, o MediaMTXOptions) *MediaMTX {
	t.Helper()
	m := &MediaMTX{bin: MediaMTXBinary(t), Dir: t.TempDir(), log: &SyncBuffer{}, t: t,
		RTSP: FreeAddr(t), RTMP: FreeAddr(t), RTMPS: FreeAddr(t), SRT: FreeAddr(t)}
	m.CA = filepath.Join(m.Dir, "server.crt")
	key := filepath.Join(m.Dir, "server.key")
	if err := selfSigned(m.CA, key); err != nil {
		t.Fatal(err)
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
	conf := fmt.Sprintf(`logLevel: debug
logDestinations: [stdout]
api: false
metrics: false
pprof: false
playback: false
hls: false
webrtc: false
moq: false
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
`, users.String(), m.RTSP, m.RTMP, m.RTMPS, key, m.CA, m.SRT, o.Extra, m.Dir, o.SRTPassphrase, o.PathDefaults)
	m.conf = filepath.Join(m.Dir, "mediamtx.yml")
	if err := os.WriteFile(m.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}

func (m *MediaMTX) start() error {
	m.cmd = exec.Command(m.bin, m.conf)
	m.cmd.Dir = m.Dir
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	if err := m.cmd.Start(); err != nil {
		return err
	}
	for _, a := range []string{m.RTSP, m.RTMP, m.RTMPS} {
		if err := waitListening(a); err != nil {
			m.Stop()
			return fmt.Errorf("mediamtx: %v\n%s", err, m.log.String())
		}
	}
	return nil
}

// Stop stops it (SIGTERM, then SIGKILL after 5 s) and waits.
func (m *MediaMTX) Stop() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = m.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = m.cmd.Process.Kill()
		<-done
	}
	m.cmd = nil
}

// Restart starts it again on the same ports.
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
