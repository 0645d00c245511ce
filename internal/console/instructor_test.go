package console

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"protolab/internal/api"
	"protolab/internal/event"
)

// fakeClass is a class of one learner, "a" at 127.0.0.1, whose console
// answers "console of a".
type fakeClass struct {
	mu     sync.Mutex
	resets []string
	lang   string // the lab's language
}

func (f *fakeClass) Snapshot() api.Class {
	return api.Class{Lab: "dns", Tasks: []api.ClassTask{{ID: "t1", Title: "T, one", Points: 2}},
		Learners: []api.ClassLearner{{ID: "a", Name: "Ada \"A\"", Cells: []api.ClassCell{{Task: "t1"}}}}}
}

func (f *fakeClass) Timeline(id string, limit int) ([]event.Event, error) {
	if id != "a" {
		return nil, fmt.Errorf("%w %q", ErrUnknownLearner, id)
	}
	return []event.Event{{Seq: uint64(limit), Kind: "dns.query", Learner: "a"}}, nil
}

func (f *fakeClass) ResetLearner(id string) error {
	if id != "a" {
		return fmt.Errorf("%w %q", ErrUnknownLearner, id)
	}
	f.mu.Lock()
	f.resets = append(f.resets, id)
	f.mu.Unlock()
	return nil
}

func (f *fakeClass) LearnerConsole(ip netip.Addr) (string, http.Handler, bool) {
	if ip != netip.MustParseAddr("127.0.0.1") {
		return "", nil, false
	}
	return "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "console of a "+r.URL.Path) }), true
}

func (f *fakeClass) Overview() api.Status { return api.Status{Lab: "dns", Running: true, Lang: f.lang} }

func TestClassServerRoutes(t *testing.T) {
	const tok = "secret-token"
	src := &fakeClass{}
	s := NewClass(src, ClassOptions{Token: tok})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Shutdown(t.Context())
	base := "http://" + ln.Addr().String()
	auth := map[string]string{"Authorization": "Bearer " + tok}
	for _, tt := range []struct {
		name, method, path string
		hdr                map[string]string
		code               int
		body               string // a substring of the answer
	}{
		{"learner page", "GET", "/", nil, 200, "console of a /"},
		{"learner api", "GET", "/api/status", nil, 200, "console of a /api/status"},
		{"grid", "GET", "/api/class", auth, 200, `"lab":"dns"`},
		{"grid lower-case scheme", "GET", "/api/class", map[string]string{"Authorization": "bearer " + tok}, 200, `"lab":"dns"`},
		{"grid basic auth", "GET", "/api/class", map[string]string{"Authorization": "Basic " + tok}, 401, "token"},
		{"grid no token", "GET", "/api/class", nil, 401, "instructor?token="},
		{"grid prefix of token", "GET", "/api/class?token=secret", nil, 401, ""},
		{"grid wrong method", "POST", "/api/class", auth, 405, "GET"},
		{"timeline", "GET", "/api/class/learner?id=a&limit=7", auth, 200, `"seq":7`},
		{"timeline cap", "GET", "/api/class/learner?id=a&limit=99999", auth, 200, `"seq":1000`},
		{"timeline bad limit", "GET", "/api/class/learner?id=a&limit=-1", auth, 400, "1 to 1000"},
		{"timeline no id", "GET", "/api/class/learner", auth, 400, "id=ID"},
		{"timeline unknown", "GET", "/api/class/learner?id=zz", auth, 404, "no such learner"},
		{"reset GET", "GET", "/api/class/reset?id=a", auth, 405, "POST"},
		{"reset unknown", "POST", "/api/class/reset?id=zz", auth, 404, "no such learner"},
		{"reset cross-site", "POST", "/api/class/reset?id=a", map[string]string{"Authorization": "Bearer " + tok, "Sec-Fetch-Site": "cross-site"}, 403, "cross-site"},
		{"export csv", "GET", "/api/class/export?format=csv", auth, 200, "a,\"Ada \"\"A\"\"\",t1,\"T, one\",false,,0,2,0,false"},
		{"export default", "GET", "/api/class/export", auth, 200, "learner,name,task"},
		{"export json", "GET", "/api/class/export?format=json", auth, 200, `"learners"`},
		{"dashboard", "GET", "/instructor?token=" + tok, nil, 200, "instructor.js"},
		{"dashboard script", "GET", "/instructor.js", map[string]string{"Cookie": tokenCookie + "=" + tok}, 200, "EventSource"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, base+tt.path, nil)
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.body) {
				t.Fatalf("%s %s: %d %s; want %d with %q", tt.method, tt.path, resp.StatusCode, b, tt.code, tt.body)
			}
			if tt.code/100 != 2 && strings.HasPrefix(tt.path, "/api/") && !json.Valid(b) {
				t.Errorf("error body is not JSON: %s", b)
			}
		})
	}
	// Reset went through once.
	req, _ := http.NewRequest("POST", base+"/api/class/reset?id=a", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(src.resets) != 1 || src.resets[0] != "a" {
		t.Fatalf("reset: %d, resets %v", resp.StatusCode, src.resets)
	}
}

// The dashboard's language: ?lang= first, else the lab's, put in <html lang>
// for the script; the page's 401 follows it.
func TestDashboardLanguage(t *testing.T) {
	const tok = "secret-token"
	for _, tt := range []struct {
		name, labLang, query string
		token                bool
		code                 int
		body                 string // a substring of the answer
	}{
		{"English lab", "en", "", true, 200, `<html lang="en">`},
		{"French lab", "fr", "", true, 200, `<html lang="fr">`},
		{"French lab, English asked", "fr", "&lang=en", true, 200, `<html lang="en">`},
		{"English lab, French asked", "en", "&lang=fr", true, 200, `<html lang="fr">`},
		{"no language given", "", "", true, 200, `<html lang="en">`},
		{"unknown language asked", "fr", "&lang=de", true, 200, `<html lang="fr">`},
		{"French lab, no token", "fr", "", false, 401, "le jeton de l'enseignant manque"},
		{"English lab, no token", "en", "", false, 401, "the instructor's token is missing"},
		{"French asked, no token", "en", "&lang=fr", false, 401, "ouvrez l'adresse que lab serve a affichée"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := NewClass(&fakeClass{lang: tt.labLang}, ClassOptions{Token: tok})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go s.Serve(ln)
			defer s.Shutdown(t.Context())
			path := "/instructor?x=1" + tt.query
			if tt.token {
				path += "&token=" + tok
			}
			resp, err := http.Get("http://" + ln.Addr().String() + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.body) {
				t.Fatalf("GET %s: %d %s; want %d with %q", path, resp.StatusCode, b, tt.code, tt.body)
			}
		})
	}
	// The script carries both languages' words.
	js, err := web.ReadFile("web/instructor.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, word := range []string{`grid: "Learners × tasks"`, `grid: "Apprenants × tâches"`,
		`reset: "Reset this learner"`, `reset: "Réinitialiser cet apprenant"`} {
		if !strings.Contains(string(js), word) {
			t.Errorf("instructor.js lacks %s", word)
		}
	}
}

func TestNewToken(t *testing.T) {
	a, b := NewToken(), NewToken()
	if len(a) != 32 || a == b {
		t.Fatalf("tokens %q %q", a, b)
	}
}
