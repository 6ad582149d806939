package ui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
)

const (
	sessionCookie = "procreg_ui_session"
	tokenCookie   = "procreg_ui_token"
)

// csp forbids inline script and style, framing, plugins and foreign
// origins: everything the pages use is served by this server.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// ServeHTTP applies the security headers, the Host check (loopback
// servers answer only to loopback names, against DNS rebinding), the token
// check, and then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if s.loopback && !loopbackHostHeader(r.Host) {
		http.Error(w, "procreg ui answers only to localhost, 127.0.0.1 and [::1] (Host header)", http.StatusMisdirectedRequest)
		return
	}
	if s.cfg.Token != "" && !s.authorized(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

func loopbackHostHeader(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return isLoopbackHost(host)
}

// authorized checks the token: a bearer header, the cookie, or ?token= on
// a GET, which sets the cookie and redirects to the URL without it (so the
// token does not linger in the address bar or history).
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") && s.tokenOK(strings.TrimPrefix(a, "Bearer ")) {
		return true
	}
	if c, err := r.Cookie(tokenCookie); err == nil && s.tokenOK(c.Value) {
		return true
	}
	if t := r.URL.Query().Get("token"); t != "" && r.Method == http.MethodGet && s.tokenOK(t) {
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: t, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		q := r.URL.Query()
		q.Del("token")
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="procreg ui"`)
	http.Error(w, "procreg ui: a token is required (open the URL with ?token=…)", http.StatusUnauthorized)
	return false
}

func (s *Server) tokenOK(t string) bool {
	a := sha256.Sum256([]byte(t))
	b := sha256.Sum256([]byte(s.cfg.Token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// session returns the browser's session id, setting a fresh cookie when
// there is none. Sessions only bind CSRF tokens; they carry no state.
func (s *Server) session(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	return id
}

// csrfToken is the session's CSRF token: an HMAC of the session id under
// the server's key, so it needs no storage and dies with the server.
func (s *Server) csrfToken(session string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("procreg-ui-csrf\x00" + session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkPost verifies a state-changing request: same origin (Origin, else
// Referer; Sec-Fetch-Site when sent), a session cookie, and the form's CSRF
// token for that session. It returns a reason when the request is refused.
func (s *Server) checkPost(r *http.Request) string {
	if r.Method != http.MethodPost {
		return "method not allowed"
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return "cross-site request (Sec-Fetch-Site: " + site + ")"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		ref, err := url.Parse(r.Header.Get("Referer"))
		if err != nil || ref.Host == "" {
			return "missing Origin header"
		}
		origin = ref.Scheme + "://" + ref.Host
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if origin != scheme+"://"+r.Host {
		return "cross-origin request (Origin " + origin + ")"
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return "no session cookie"
	}
	want := s.csrfToken(c.Value)
	if !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(want)) {
		return "bad CSRF token"
	}
	return ""
}
