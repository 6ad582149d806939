package testdb

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	"github.com/ory/dockertest/v3/docker"
)

// containerLifetime is a safety net: Docker removes a container this binary
// started even if the binary dies before Main can purge it.
const containerLifetime = time.Hour

var (
	dockerMu   sync.Mutex
	dockerPool *dockertest.Pool
	dockerErr  error
	dockerInit bool
	started    []*dockertest.Resource
)

// Main runs the tests of a package that uses testdb and then removes the
// containers the binary started. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testdb.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	purgeContainers()
	os.Exit(code)
}

// pool returns a Docker pool whose engine answers a ping, or why there is none.
func pool() (*dockertest.Pool, error) {
	dockerMu.Lock()
	defer dockerMu.Unlock()
	if dockerInit {
		return dockerPool, dockerErr
	}
	dockerInit = true
	p, err := dockertest.NewPool("")
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = p.Client.PingWithContext(ctx)
		cancel()
	}
	if err != nil {
		dockerErr = fmt.Errorf("no Docker engine answers: %w", err)
		return nil, dockerErr
	}
	p.MaxWait = containerTimeout
	dockerPool = p
	return p, nil
}

// container describes a database image to start.
type container struct {
	repository, tag string
	env             []string
	port            string                                      // e.g. "5432/tcp"
	adminDSN        func(hostPort string) string                // administrative DSN for the mapped port
	ping            func(ctx context.Context, dsn string) error // ready check
}

// startContainer starts c, waits until it accepts connections and returns its
// administrative DSN.
func startContainer(c container) (string, error) {
	p, err := pool()
	if err != nil {
		return "", err
	}
	res, err := p.RunWithOptions(&dockertest.RunOptions{
		Repository: c.repository,
		Tag:        c.tag,
		Env:        c.env,
		Labels:     map[string]string{"procreg.testdb": "1"},
	}, func(hc *docker.HostConfig) {
		hc.AutoRemove = true
		hc.RestartPolicy = docker.RestartPolicy{Name: "no"}
	})
	if err != nil {
		return "", fmt.Errorf("start %s:%s: %w", c.repository, c.tag, err)
	}
	dockerMu.Lock()
	started = append(started, res)
	dockerMu.Unlock()
	if err := res.Expire(uint(containerLifetime / time.Second)); err != nil {
		return "", fmt.Errorf("set expiry of %s:%s: %w", c.repository, c.tag, err)
	}
	dsn := c.adminDSN(res.GetHostPort(c.port))
	err = p.Retry(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return c.ping(ctx, dsn)
	})
	if err != nil {
		return "", fmt.Errorf("%s:%s never accepted connections: %w", c.repository, c.tag, err)
	}
	return dsn, nil
}

// purgeContainers removes every container this binary started.
func purgeContainers() {
	dockerMu.Lock()
	defer dockerMu.Unlock()
	for _, res := range started {
		if err := dockerPool.Purge(res); err != nil {
			fmt.Fprintf(os.Stderr, "testdb: remove container %s: %v\n", res.Container.Name, err)
		}
	}
	started = nil
}
