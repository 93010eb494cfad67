package temporalcluster

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestMakefilePinsServerVersion: the Makefile builds the release the Go
// code checks for and the compose test compares with.
func TestMakefilePinsServerVersion(t *testing.T) {
	makefile, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^TEMPORAL_SERVER_VERSION\s*:=\s*(\S+)\s*$`).FindSubmatch(makefile)
	require.NotNil(t, m, "the Makefile sets TEMPORAL_SERVER_VERSION")
	require.Equal(t, ServerVersion, string(m[1]))
}

// TestServerConfig: the rendered configuration is the server's PostgreSQL
// persistence and SQL visibility, on the cluster's ports, with the dynamic
// config given.
func TestServerConfig(t *testing.T) {
	c := &Cluster{cfg: Config{
		Postgres:          Postgres{Host: "127.0.0.1", Port: 15432, User: "postgres"},
		DynamicConfigFile: "/etc/xuncha/dynamicconfig.yaml",
		NumHistoryShards:  4,
	}, configFile: t.TempDir() + "/config.yaml"}
	require.NoError(t, c.pickPorts())
	data, err := os.ReadFile(c.configFile)
	require.NoError(t, err)
	var cfg struct {
		Persistence struct {
			DefaultStore     string `yaml:"defaultStore"`
			VisibilityStore  string `yaml:"visibilityStore"`
			NumHistoryShards int    `yaml:"numHistoryShards"`
			Datastores       map[string]struct {
				SQL struct {
					PluginName   string `yaml:"pluginName"`
					DatabaseName string `yaml:"databaseName"`
					ConnectAddr  string `yaml:"connectAddr"`
					User         string `yaml:"user"`
				} `yaml:"sql"`
			} `yaml:"datastores"`
		} `yaml:"persistence"`
		Services map[string]struct {
			RPC struct {
				GRPCPort       int `yaml:"grpcPort"`
				MembershipPort int `yaml:"membershipPort"`
			} `yaml:"rpc"`
		} `yaml:"services"`
		DynamicConfigClient struct {
			Filepath string `yaml:"filepath"`
		} `yaml:"dynamicConfigClient"`
	}
	require.NoError(t, yaml.Unmarshal(data, &cfg))
	p := cfg.Persistence
	require.Equal(t, 4, p.NumHistoryShards)
	main, visibility := p.Datastores[p.DefaultStore].SQL, p.Datastores[p.VisibilityStore].SQL
	require.Equal(t, "postgres12_pgx", main.PluginName, "the pgx driver by default")
	require.Equal(t, Database, main.DatabaseName)
	require.Equal(t, "postgres12_pgx", visibility.PluginName, "SQL visibility on PostgreSQL")
	require.Equal(t, VisibilityDatabase, visibility.DatabaseName)
	require.Equal(t, "127.0.0.1:15432", main.ConnectAddr)
	require.Equal(t, "postgres", visibility.User)
	require.Equal(t, c.ports.frontend, cfg.Services["frontend"].RPC.GRPCPort)
	require.Equal(t, "127.0.0.1:"+strconv.Itoa(c.ports.frontend), c.Address())
	seen := map[int]bool{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		rpc := cfg.Services[name].RPC
		for _, port := range []int{rpc.GRPCPort, rpc.MembershipPort} {
			require.NotZero(t, port, name)
			require.False(t, seen[port], "%s: port %d used twice", name, port)
			seen[port] = true
		}
	}
	require.Equal(t, "/etc/xuncha/dynamicconfig.yaml", cfg.DynamicConfigClient.Filepath)
}

// TestServerConfigPlugin: the server and the schema tool use the plugin
// Config names: pgx when it names none, lib/pq when asked.
func TestServerConfigPlugin(t *testing.T) {
	for _, tc := range []struct{ plugin, want string }{
		{"", "postgres12_pgx"},
		{SQLPluginPGX, "postgres12_pgx"},
		{SQLPluginPQ, "postgres12"},
	} {
		c := &Cluster{cfg: Config{Postgres: Postgres{Host: "127.0.0.1", Port: 15432, User: "postgres"}, SQLPlugin: tc.plugin},
			configFile: filepath.Join(t.TempDir(), "config.yaml")}
		require.NoError(t, c.pickPorts())
		data, err := os.ReadFile(c.configFile)
		require.NoError(t, err)
		var cfg struct {
			Persistence struct {
				Datastores map[string]struct {
					SQL struct {
						PluginName string `yaml:"pluginName"`
					} `yaml:"sql"`
				} `yaml:"datastores"`
			} `yaml:"persistence"`
		}
		require.NoError(t, yaml.Unmarshal(data, &cfg))
		require.Len(t, cfg.Persistence.Datastores, 2, "plugin %q", tc.plugin)
		for name, store := range cfg.Persistence.Datastores {
			require.Equal(t, tc.want, store.SQL.PluginName, "plugin %q, store %s", tc.plugin, name)
		}
		require.Equal(t, tc.want, c.Plugin(), "the schema tool's --plugin and the logs, plugin %q", tc.plugin)
	}
}

// TestNewRefusesUnknownPlugin: a plugin other than the two PostgreSQL
// ones is refused before any database is touched (the port names no
// server).
func TestNewRefusesUnknownPlugin(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cluster")
	_, err := New(context.Background(), Config{
		Binaries:  Binaries{Server: "server", SQLTool: "sql", ModuleDir: "module"},
		Postgres:  Postgres{Port: 1, User: "postgres"},
		Dir:       dir,
		SQLPlugin: "mysql8",
	})
	require.ErrorContains(t, err, `Config.SQLPlugin "mysql8": want postgres12 or postgres12_pgx`)
	_, statErr := os.Stat(dir)
	require.True(t, os.IsNotExist(statErr), "nothing made for a refused config")
}
