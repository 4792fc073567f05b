package httpauth

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"
)

// DenyList is a [RevocationChecker] that refuses listed certificates: the
// fastest way to cut one device off, without a CA or a CRL. Each entry is
// one of
//
//	sha256:<fingerprint>                    a certificate, by the SHA-256 of its DER
//	serial:<hex> issuer-key:<sha256>        a serial, under the issuer whose key has that hash
//
// Fingerprints may be written as [AllowFingerprints] accepts them (any
// case, colons allowed, "sha256:" optional, or the "sha256 Fingerprint=…"
// line openssl prints). A serial is bound to its
// issuer by the SHA-256 of the issuer's SubjectPublicKeyInfo ([IssuerKeyHash]),
// since serials are unique per issuer only; binding to the key rather than
// the issuer certificate keeps re-issued and cross-signed copies of that CA
// covered. Both forms match any certificate of the verified chain, so an
// entry for an intermediate cuts off everything below it. A deny-list never
// answers unknown.
type DenyList struct {
	fingerprints map[string]bool
	serials      map[issuerSerial]bool
}

type issuerSerial struct{ keyHash, serial string }

// NewDenyList builds a deny-list from entries in the forms above. Blank
// entries and "#" comments are skipped; anything else that is not an entry
// is an error naming it.
func NewDenyList(entries ...string) (*DenyList, error) {
	d := &DenyList{}
	for i, e := range entries {
		if err := d.add(e); err != nil {
			return nil, fmt.Errorf("httpauth: deny-list entry %d: %w", i, err)
		}
	}
	return d, nil
}

func (d *DenyList) add(entry string) error {
	entry = strings.TrimSpace(entry)
	if entry == "" || strings.HasPrefix(entry, "#") {
		return nil
	}
	if rest, ok := cutPrefixFold(entry, "serial:"); ok {
		serial, issuer, _ := strings.Cut(rest, " ")
		key, ok := cutPrefixFold(strings.TrimSpace(issuer), "issuer-key:")
		if !ok {
			return fmt.Errorf("%q names a serial without its issuer: write serial:<hex> issuer-key:<sha256 of the issuer's public key>", truncate(entry))
		}
		n, ok := normalizeSerial(serial)
		if !ok {
			return fmt.Errorf("%q: serial is not hexadecimal", truncate(entry))
		}
		k, err := normalizeFingerprint(key)
		if err != nil {
			return fmt.Errorf("%q: issuer-key is not a SHA-256 hash (64 hex digits)", truncate(entry))
		}
		if d.serials == nil {
			d.serials = map[issuerSerial]bool{}
		}
		d.serials[issuerSerial{k, n}] = true
		return nil
	}
	fp, err := normalizeFingerprint(entry)
	if err != nil {
		return fmt.Errorf("%q is neither sha256:<fingerprint> nor serial:<hex> issuer-key:<sha256>", truncate(entry))
	}
	if d.fingerprints == nil {
		d.fingerprints = map[string]bool{}
	}
	d.fingerprints[fp] = true
	return nil
}

// CheckRevocation answers revoked when a certificate of chain is listed.
func (d *DenyList) CheckRevocation(_ context.Context, chain []*x509.Certificate) RevocationAnswer {
	for i, c := range chain {
		// A list without fingerprints (nil map) costs no hashing.
		if d.fingerprints != nil && d.fingerprints[Fingerprint(c)] {
			return RevocationAnswer{Status: RevocationRevoked, Detail: fmt.Sprintf("certificate %d of the chain (%s) is on the deny-list", i, shortFP(c))}
		}
		if d.serials != nil && i+1 < len(chain) && c.SerialNumber != nil &&
			d.serials[issuerSerial{IssuerKeyHash(chain[i+1]), c.SerialNumber.Text(16)}] {
			return RevocationAnswer{Status: RevocationRevoked, Detail: fmt.Sprintf("serial %s of %q is on the deny-list", serialHex(c), truncate(chain[i+1].Subject.CommonName))}
		}
	}
	return RevocationAnswer{Status: RevocationGood, Detail: "not on the deny-list"}
}

// IssuerKeyHash is the lowercase hex SHA-256 of c's SubjectPublicKeyInfo,
// the issuer-key of a [DenyList] serial entry. From a PEM file:
//
//	openssl x509 -in ca.pem -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum
func IssuerKeyHash(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// DenyListFile is a [DenyList] read from a file, one entry per line, and
// reloaded when it changes by the rules of [FileRoots]: an emptied file
// denies nobody, a file that fails to load keeps the last good list for
// the grace period ([WithGrace]), after which every chain's status is
// unknown (refused unless wrapped in [FailOpen]), since a deny-list that
// cannot be read may be the one that names an attacker.
type DenyListFile struct {
	w watched[*DenyList]
}

// DefaultDenyListInterval is how often [DenyListFile] looks at its file
// when NewDenyListFile is given zero: an operator cutting a device off
// wants it to take effect within seconds.
const DefaultDenyListInterval = 5 * time.Second

// NewDenyListFile loads the deny-list at path. It fails when the file
// cannot be read or holds a line that is not an entry. interval is the
// time between checks for a change; zero means DefaultDenyListInterval.
func NewDenyListFile(path string, interval time.Duration, opts ...FileOption) (*DenyListFile, error) {
	if interval == 0 {
		interval = DefaultDenyListInterval
	}
	f := &DenyListFile{w: newWatched(denyKind, path, interval, opts)}
	if err := f.w.load(); err != nil {
		return nil, err
	}
	return f, nil
}

var denyKind = watchKind[*DenyList]{
	name:     "deny-list file",
	short:    "deny-list",
	read:     readDenyList,
	parse:    parseDenyList,
	empty:    func() *DenyList { d, _ := NewDenyList(); return d },
	lastGood: "the last good deny-list",
	emptied:  "nobody is denied",
	none:     "no deny-list in force",
	closed:   "every chain's revocation status is unknown",
}

// readDenyList reads the file; a file of comments only counts as empty.
func readDenyList(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for line := range bytes.Lines(data) {
		if l := bytes.TrimSpace(line); len(l) > 0 && l[0] != '#' {
			return data, nil
		}
	}
	return nil, nil
}

func parseDenyList(path string, data []byte) (*DenyList, error) {
	d, _ := NewDenyList()
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		if err := d.add(sc.Text()); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// Err returns nil when the list in force is what the file holds now, and
// otherwise why not, as [FileRoots.Err] does.
func (f *DenyListFile) Err() error { return f.w.err() }

// CheckRevocation answers as the list in force does; after a failed
// file's grace period, unknown.
func (f *DenyListFile) CheckRevocation(ctx context.Context, chain []*x509.Certificate) RevocationAnswer {
	s := f.w.stateAt(f.w.now())
	if s.closed {
		return RevocationAnswer{Status: RevocationUnknown, Detail: strings.TrimPrefix(s.err.Error(), "httpauth: ")}
	}
	return s.val.CheckRevocation(ctx, chain)
}

// Changed returns a channel closed when the data in force next changes
// (see [Notifier]).
func (f *DenyListFile) Changed() <-chan struct{} { return f.w.changes() }

// refresh looks at the file if the interval has passed, for the watcher of
// live connections.
func (f *DenyListFile) refresh() { f.w.current() }
