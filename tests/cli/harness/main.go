// Command leger-harness does what `leger auth login`, `leger secrets sync` and
// `leger deploy install` do, with the leger CLI's own packages, so that the
// test suite can check that Leger serves what the real CLI expects.
//
// It is built by tests/cli/harness.py inside a copy of the CLI module (Go's
// internal/ rule forbids importing its packages from another module). Every
// path comes from flags or $HOME; nothing here talks to systemd, Podman or
// legerd:
//
//   - legerd's store is the folder $HOME/legerd/leger/<user_uuid>/<name>;
//   - `podman secret create NAME -` writes $HOME/podman-secrets/<name> (and
//     <name>.json with the Secret= line's type and target);
//   - `systemctl --user daemon-reload` and `start` are left out.
//
// The command code it mirrors is _reference/internal/cli/{auth,secrets,deploy}.go
// of leger-labs/leger; the pieces copied from there say so.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/leger-labs/leger/internal/legerrun"
	"github.com/leger-labs/leger/internal/podman"
	"github.com/leger-labs/leger/internal/quadlet"
	"github.com/leger-labs/leger/internal/validation"
)

const (
	cliVersion    = "harness"
	defaultWeb    = "https://app.leger.run"
	defaultStatic = "https://static.leger.run"
)

const usage = `usage: leger-harness COMMAND [flags]

  login --user-id N --login-name X --device-ip IP --hostname H --tailnet T [--web URL]
  sync
  install [NAME] [--static BASE] [--source S] [--force]
  versions
  set NAME VALUE | get NAME | delete NAME | list

The API is $LEGER_API_URL (default https://api.leger.run); every file lives under $HOME.
`

// Exit codes: 1 a failed command, 2 bad usage, 3 an API error (with a code= line).
const (
	exitFailed   = 1
	exitUsage    = 2
	exitAPIError = 3
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(exitUsage)
	}
	ctx := context.Background()
	command, args := os.Args[1], os.Args[2:]

	var code int
	switch command {
	case "login":
		code = runLogin(ctx, args)
	case "sync":
		code = runSync(ctx, args)
	case "install":
		code = runInstall(ctx, args)
	case "versions":
		code = runVersions(ctx, args)
	case "set", "get", "delete", "list":
		code = runSecret(ctx, command, args)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", command, usage)
		code = exitUsage
	}
	os.Exit(code)
}

// parseArgs parses flags that may come before, between or after positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// badUsage reports wrong arguments (flag errors are printed by the flag package itself).
func badUsage(command string) int {
	fmt.Fprintf(os.Stderr, "bad arguments for %s\n\n%s", command, usage)
	return exitUsage
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}

// errorCode names the legerrun error an error wraps, as the `code=` line prints it.
func errorCode(err error) string {
	for _, known := range []error{
		legerrun.ErrAccountNotLinked,
		legerrun.ErrInvalidToken,
		legerrun.ErrTailscaleVerificationFailed,
		legerrun.ErrSecretNotFound,
		legerrun.ErrInsufficientPermissions,
	} {
		if errors.Is(err, known) {
			return known.Error()
		}
	}
	return "other"
}

func fail(err error) int {
	fmt.Fprintf(os.Stderr, "Error: %v\n", err)
	return exitFailed
}

func failAPI(err error) int {
	fmt.Fprintf(os.Stderr, "Error: %v\n", err)
	fmt.Fprintf(os.Stderr, "code=%s\n", errorCode(err))
	return exitAPIError
}

func printJSON(value interface{}) int {
	data, err := json.MarshalIndent(value, "", "  ")
	if err != nil {
		return fail(err)
	}
	fmt.Println(string(data))
	return 0
}

// ---------------------------------------------------------------------------
// The token store: _reference/internal/auth/storage.go (copied; _reference
// cannot be built).

// StoredAuth represents JWT token-based authentication from leger.run backend.
type StoredAuth struct {
	Token     string    `json:"token"`
	TokenType string    `json:"token_type"`
	ExpiresAt time.Time `json:"expires_at"`
	UserUUID  string    `json:"user_uuid"`
	UserEmail string    `json:"user_email"`
}

// TokenStore handles JWT token storage.
type TokenStore struct {
	ConfigDir string
}

// NewTokenStore creates a new token store with the default config directory.
func NewTokenStore() *TokenStore {
	home, err := os.UserHomeDir()
	if err != nil {
		return &TokenStore{ConfigDir: ".local/share/leger"}
	}
	return &TokenStore{ConfigDir: filepath.Join(home, ".local", "share", "leger")}
}

// Save saves the JWT token to disk.
func (ts *TokenStore) Save(auth *StoredAuth) error {
	if err := os.MkdirAll(ts.ConfigDir, 0700); err != nil {
		return fmt.Errorf("failed to create config directory: %w", err)
	}
	path := filepath.Join(ts.ConfigDir, "auth.json")
	data, err := json.MarshalIndent(auth, "", "  ")
	if err != nil {
		return fmt.Errorf("failed to marshal auth: %w", err)
	}
	if err := os.WriteFile(path, data, 0600); err != nil {
		return fmt.Errorf("failed to write auth file: %w", err)
	}
	return nil
}

// Load loads the JWT token from disk.
func (ts *TokenStore) Load() (*StoredAuth, error) {
	path := filepath.Join(ts.ConfigDir, "auth.json")
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("not authenticated")
		}
		return nil, fmt.Errorf("failed to read auth file: %w", err)
	}
	var auth StoredAuth
	if err := json.Unmarshal(data, &auth); err != nil {
		return nil, fmt.Errorf("failed to parse auth file: %w", err)
	}
	return &auth, nil
}

// RequireAuth loads the stored authentication; like the CLI it never checks expiry.
func RequireAuth() (*StoredAuth, error) {
	auth, err := NewTokenStore().Load()
	if err != nil {
		return nil, fmt.Errorf("not authenticated\n\nAuthenticate with: leger auth login")
	}
	if auth.Token == "" {
		return nil, fmt.Errorf("invalid authentication\n\nRe-authenticate with: leger auth login")
	}
	return auth, nil
}

// accountNotLinked is the message auth.go prints for an unwrapped ErrAccountNotLinked.
const accountNotLinked = `tailscale account not linked to leger.run

Visit https://app.leger.run to link your account
(Web UI will be available in v0.2.0 with device code authentication)

For now, leger.run backend will accept any authenticated Tailscale user`

// ---------------------------------------------------------------------------
// login: authLoginCmd in auth.go, with the identity from flags instead of the
// local Tailscale daemon.

func runLogin(ctx context.Context, args []string) int {
	fs := newFlags("login")
	userID := fs.String("user-id", "", "Tailscale numeric user id")
	loginName := fs.String("login-name", "", "Tailscale login name")
	deviceIP := fs.String("device-ip", "", "Tailscale IP of this device (sent as device_id)")
	hostname := fs.String("hostname", "", "Tailscale device name")
	tailnet := fs.String("tailnet", "", "Tailnet name")
	web := fs.String("web", defaultWeb, "Web app base URL of the auth link")
	if rest, err := parseArgs(fs, args); err != nil || len(rest) > 0 {
		return badUsage("login")
	}

	client := legerrun.NewClient()
	identity := legerrun.TailscaleIdentity{
		UserID:    *userID,
		LoginName: *loginName,
		DeviceID:  *deviceIP, // the CLI uses the IP as device identifier
		Hostname:  *hostname,
		Tailnet:   *tailnet,
	}

	authResp, err := client.AuthenticateCLI(ctx, identity, cliVersion)
	if err != nil {
		// As auth.go: a plain comparison, so only an unwrapped error matches.
		if err == legerrun.ErrAccountNotLinked {
			fmt.Fprintf(os.Stderr, "Error: %s\n", accountNotLinked)
			fmt.Fprintf(os.Stderr, "code=%s\n", errorCode(err))
			return exitAPIError
		}
		return failAPI(fmt.Errorf("authentication failed: %w", err))
	}

	expiresAt := time.Now().Add(time.Duration(authResp.Data.ExpiresIn) * time.Second)
	storedAuth := &StoredAuth{
		Token:     authResp.Data.Token,
		TokenType: authResp.Data.TokenType,
		ExpiresAt: expiresAt,
		UserUUID:  authResp.Data.UserUUID,
		UserEmail: authResp.Data.User.TailscaleEmail,
	}
	if err := NewTokenStore().Save(storedAuth); err != nil {
		return fail(fmt.Errorf("failed to save token: %w", err))
	}

	webAuthURL := fmt.Sprintf("%s/auth?token=%s", strings.TrimRight(*web, "/"), url.QueryEscape(storedAuth.Token))
	return printJSON(map[string]interface{}{
		"token":        authResp.Data.Token,
		"token_type":   authResp.Data.TokenType,
		"expires_in":   authResp.Data.ExpiresIn,
		"user_uuid":    authResp.Data.UserUUID,
		"user_email":   authResp.Data.User.TailscaleEmail,
		"web_auth_url": webAuthURL,
	})
}

// ---------------------------------------------------------------------------
// sync: runSecretsSync in secrets.go, with legerd's store as a folder.

// legerdPath is where the stand-in for legerd keeps leger/<user_uuid>/<name>.
func legerdPath(userUUID, name string) (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("failed to get home directory: %w", err)
	}
	return filepath.Join(home, "legerd", "leger", userUUID, name), nil
}

func putLegerdSecret(userUUID, name string, value []byte) error {
	path, err := legerdPath(userUUID, name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0700); err != nil {
		return err
	}
	if err := os.WriteFile(path, value, 0600); err != nil {
		return err
	}
	return os.Chmod(path, 0600)
}

func runSync(ctx context.Context, args []string) int {
	fs := newFlags("sync")
	if rest, err := parseArgs(fs, args); err != nil || len(rest) > 0 {
		return badUsage("sync")
	}

	storedAuth, err := RequireAuth()
	if err != nil {
		return fail(err)
	}

	apiClient := legerrun.NewClient().WithToken(storedAuth.Token)
	secrets, err := apiClient.ListSecrets(ctx)
	if err != nil {
		return fail(fmt.Errorf("failed to fetch secrets from leger.run: %w", err))
	}

	errorCount := 0
	for _, secretMeta := range secrets {
		secretValue, err := apiClient.GetSecret(ctx, secretMeta.Name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "  ✗ Failed to fetch %s: %v\n", secretMeta.Name, err)
			errorCount++
			continue
		}
		// The CLI skips a secret legerd already holds at the same version; the
		// stand-in keeps no versions, so every secret is written (as --force).
		if err := putLegerdSecret(storedAuth.UserUUID, secretMeta.Name, []byte(secretValue.Value)); err != nil {
			fmt.Fprintf(os.Stderr, "  ✗ Failed to sync %s: %v\n", secretMeta.Name, err)
			errorCount++
			continue
		}
		fmt.Println(secretMeta.Name)
	}

	if errorCount > 0 {
		return fail(fmt.Errorf("failed to sync %d secrets", errorCount))
	}
	return 0
}

// ---------------------------------------------------------------------------
// install: runDeployInstall in deploy.go, minus legerd, Podman and systemctl.

type secretSummary struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Target string `json:"target"`
}

type installSummary struct {
	Dir          string          `json:"dir"`
	QuadletFiles []string        `json:"quadlet_files"`
	Services     []string        `json:"services"`
	Secrets      []secretSummary `json:"secrets"`
	ActiveDir    string          `json:"active_dir"`
	UnitsDir     string          `json:"units_dir"`
}

func runInstall(ctx context.Context, args []string) int {
	fs := newFlags("install")
	static := fs.String("static", defaultStatic, "Base URL of the static host (the CLI's is fixed)")
	source := fs.String("source", "", "Git URL or local folder instead of the static host")
	force := fs.Bool("force", false, "Skip the port conflict check")
	rest, err := parseArgs(fs, args)
	if err != nil || len(rest) > 1 {
		return badUsage("install")
	}
	name := "default"
	if len(rest) == 1 {
		name = rest[0]
	}

	// The CLI's packages (and the copied code) print progress on stdout; the
	// summary alone goes there, everything else to stderr.
	stdout := os.Stdout
	os.Stdout = os.Stderr
	summary, err := install(ctx, name, *static, *source, *force)
	os.Stdout = stdout
	if err != nil {
		return fail(err)
	}
	return printJSON(summary)
}

func install(ctx context.Context, name, static, source string, force bool) (*installSummary, error) {
	// Step 1: prerequisites (legerd's health check has no stand-in).
	storedAuth, err := RequireAuth()
	if err != nil {
		return nil, err
	}
	userUUID := storedAuth.UserUUID

	// Step 2: locate the quadlet files.
	var quadletDir string
	if source == "" {
		quadletDir, err = downloadFromLegerRun(ctx, static, userUUID, name)
	} else if isURL(source) {
		quadletDir, err = cloneGitRepo(ctx, source, name)
	} else {
		quadletDir = source
		if !filepath.IsAbs(quadletDir) {
			quadletDir, err = filepath.Abs(quadletDir)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("failed to locate quadlets: %w", err)
	}
	fmt.Printf("✓ Quadlet directory: %s\n", quadletDir)

	// Step 3: parse the Secret= lines.
	parseResult, err := quadlet.ParseDirectory(quadletDir)
	if err != nil {
		return nil, fmt.Errorf("failed to parse quadlets: %w", err)
	}

	// Step 4: a Podman secret for each, from legerd.
	if len(parseResult.Secrets) > 0 {
		if err := fetchAndCreateSecrets(userUUID, parseResult); err != nil {
			return nil, fmt.Errorf("failed to handle secrets: %w", err)
		}
	}

	// Step 5: validate.
	if err := validateQuadlets(quadletDir, force); err != nil {
		return nil, fmt.Errorf("validation failed: %w", err)
	}

	// Step 6: save the deployment.
	if err := saveDeployment(name, quadletDir); err != nil {
		return nil, fmt.Errorf("failed to save deployment: %w", err)
	}

	// Step 7: install the units (systemctl --user daemon-reload left out).
	if err := podman.NewQuadletManager("user").Install(quadletDir); err != nil {
		return nil, fmt.Errorf("failed to install quadlets: %w", err)
	}

	// Step 8 would start <unit basename>.service for every parsed unit file.
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, err
	}
	summary := &installSummary{
		Dir:          quadletDir,
		QuadletFiles: []string{},
		Services:     []string{},
		Secrets:      []secretSummary{},
		ActiveDir:    filepath.Join(home, ".local", "share", "bluebuild-quadlets", "active", name),
		UnitsDir:     filepath.Join(home, ".config", "containers", "systemd"),
	}
	for _, qfile := range parseResult.QuadletFiles {
		rel, err := filepath.Rel(quadletDir, qfile)
		if err != nil {
			rel = qfile
		}
		summary.QuadletFiles = append(summary.QuadletFiles, rel)
		base := filepath.Base(qfile)
		summary.Services = append(summary.Services, base[:len(base)-len(filepath.Ext(base))]+".service")
	}
	for _, secretName := range sortedSecretNames(parseResult) {
		ref := parseResult.Secrets[secretName]
		summary.Secrets = append(summary.Secrets, secretSummary{Name: ref.Name, Type: ref.Type, Target: ref.Target})
	}
	return summary, nil
}

func sortedSecretNames(parseResult *quadlet.ParseResult) []string {
	names := parseResult.GetSecretNames()
	sort.Strings(names)
	return names
}

// fetchAndCreateSecrets reads each secret from legerd's store and creates the Podman secret.
func fetchAndCreateSecrets(userUUID string, parseResult *quadlet.ParseResult) error {
	home, err := os.UserHomeDir()
	if err != nil {
		return fmt.Errorf("failed to get home directory: %w", err)
	}
	secretsDir := filepath.Join(home, "podman-secrets")

	for _, secretName := range sortedSecretNames(parseResult) {
		path, err := legerdPath(userUUID, secretName)
		if err != nil {
			return err
		}
		value, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("secret %q not found in legerd: %w\n\nEnsure secrets are synced: leger auth login", secretName, err)
		}
		if err := createPodmanSecret(secretsDir, parseResult.Secrets[secretName], value); err != nil {
			return fmt.Errorf("failed to create Podman secret %q: %w", secretName, err)
		}
		fmt.Printf("  ✓ Created Podman secret: %s\n", secretName)
	}
	return nil
}

// createPodmanSecret stands in for `podman secret create NAME -` (replacing an existing one).
func createPodmanSecret(secretsDir string, ref *quadlet.SecretRef, value []byte) error {
	if err := os.MkdirAll(secretsDir, 0700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(secretsDir, ref.Name), value, 0600); err != nil {
		return err
	}
	meta, err := json.Marshal(map[string]string{"type": ref.Type, "target": ref.Target})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(secretsDir, ref.Name+".json"), meta, 0600)
}

// validateQuadlets validates quadlet syntax (copied from deploy.go; force is its --force flag).
func validateQuadlets(quadletDir string, force bool) error {
	if err := validation.ValidateQuadletDirectory(quadletDir); err != nil {
		return err
	}

	if !force {
		conflicts, err := validation.CheckPortConflicts(quadletDir)
		if err != nil {
			return fmt.Errorf("failed to check port conflicts: %w", err)
		}

		if len(conflicts) > 0 {
			fmt.Println("\n⚠ Port conflicts detected:")
			for _, conflict := range conflicts {
				fmt.Printf("  Port %s/%s used by: %s\n", conflict.Port, conflict.Protocol, strings.Join(conflict.Quadlets, ", "))
			}
			return fmt.Errorf("port conflicts found - use --force to skip this check")
		}
	}

	return nil
}

// saveDeployment saves a copy of the quadlet files to the active directory (copied from deploy.go).
func saveDeployment(name, quadletDir string) error {
	homeDir, err := os.UserHomeDir()
	if err != nil {
		return fmt.Errorf("failed to get home directory: %w", err)
	}

	activeDir := filepath.Join(homeDir, ".local", "share", "bluebuild-quadlets", "active", name)
	if err := os.MkdirAll(activeDir, 0755); err != nil {
		return fmt.Errorf("failed to create active directory: %w", err)
	}

	err = filepath.Walk(quadletDir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}

		relPath, err := filepath.Rel(quadletDir, path)
		if err != nil {
			return err
		}

		if relPath == "." {
			return nil
		}

		destPath := filepath.Join(activeDir, relPath)

		if info.IsDir() {
			return os.MkdirAll(destPath, info.Mode())
		}

		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("failed to read %s: %w", path, err)
		}

		if err := os.WriteFile(destPath, data, info.Mode()); err != nil {
			return fmt.Errorf("failed to write %s: %w", destPath, err)
		}

		return nil
	})

	if err != nil {
		return fmt.Errorf("failed to copy quadlet files: %w", err)
	}

	return nil
}

// isURL is deploy.go's test for a Git source.
func isURL(s string) bool {
	return len(s) > 7 && (s[:7] == "http://" || s[:8] == "https://")
}

// cloneGitRepo stands in for the CLI's internal/git (not published): a shallow clone into a temp folder.
func cloneGitRepo(ctx context.Context, source, name string) (string, error) {
	tmpDir, err := os.MkdirTemp("", "leger-"+name+"-git-*")
	if err != nil {
		return "", fmt.Errorf("failed to create temp directory: %w", err)
	}
	cmd := exec.CommandContext(ctx, "git", "clone", "--depth", "1", source, tmpDir)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git clone %s failed: %w", source, err)
	}
	return tmpDir, nil
}

// fetchManifest is legerrun.Client.FetchManifest with its fixed host as a parameter.
func fetchManifest(ctx context.Context, static, userUUID, version string) ([]byte, error) {
	url := fmt.Sprintf("%s/%s/%s/manifest.json", static, userUUID, version)

	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, fmt.Errorf("creating request: %w", err)
	}

	// The same client legerrun.NewClient builds (its field is unexported).
	httpClient := &http.Client{Timeout: 30 * time.Second}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching manifest from leger.run: %w\n\nVerify connectivity:\n  curl %s\n\nVerify authentication:\n  leger auth status", err, url)
	}
	defer resp.Body.Close()

	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("manifest not found at %s\n\nAvailable versions:\n  leger config versions", url)
	}

	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("leger.run API error (status %d): %s", resp.StatusCode, string(body))
	}

	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading response: %w", err)
	}

	return data, nil
}

// downloadFromLegerRun is deploy.go's, with https://static.leger.run replaced by static.
func downloadFromLegerRun(ctx context.Context, static, userUUID, name string) (string, error) {
	static = strings.TrimRight(static, "/")
	client := legerrun.NewClient()

	version := "latest"
	if name != "default" {
		version = name
	}

	manifestData, err := fetchManifest(ctx, static, userUUID, version)
	if err != nil {
		return "", fmt.Errorf("failed to fetch manifest from leger.run: %w", err)
	}

	manifest, err := legerrun.ParseManifest(manifestData)
	if err != nil {
		return "", fmt.Errorf("failed to parse manifest: %w", err)
	}

	tmpDir, err := os.MkdirTemp("", "leger-"+name+"-*")
	if err != nil {
		return "", fmt.Errorf("failed to create temp directory: %w", err)
	}

	manifestPath := filepath.Join(tmpDir, "manifest.json")
	if err := os.WriteFile(manifestPath, manifestData, 0644); err != nil {
		return "", fmt.Errorf("failed to save manifest: %w", err)
	}

	baseURL := fmt.Sprintf("%s/%s/%s/", static, userUUID, version)

	for _, service := range manifest.Services {
		for _, file := range service.Files {
			fileURL := baseURL + file

			resp, err := client.DownloadFile(ctx, fileURL)
			if err != nil {
				return "", fmt.Errorf("failed to download %s: %w", file, err)
			}
			defer resp.Body.Close()

			content, err := io.ReadAll(resp.Body)
			if err != nil {
				return "", fmt.Errorf("failed to read %s: %w", file, err)
			}

			filePath := filepath.Join(tmpDir, file)
			if err := os.WriteFile(filePath, content, 0644); err != nil {
				return "", fmt.Errorf("failed to save %s: %w", file, err)
			}

			fmt.Printf("  ✓ Downloaded: %s\n", file)
		}
	}

	fmt.Printf("✓ Downloaded %d quadlet files from leger.run\n", len(manifest.Services))

	return tmpDir, nil
}

// ---------------------------------------------------------------------------
// versions and the secrets commands: thin calls of the client with the stored token.

func runVersions(ctx context.Context, args []string) int {
	fs := newFlags("versions")
	if rest, err := parseArgs(fs, args); err != nil || len(rest) > 0 {
		return badUsage("versions")
	}
	storedAuth, err := RequireAuth()
	if err != nil {
		return fail(err)
	}
	// ListVersions sends no Authorization header although the client has the token.
	versions, err := legerrun.NewClient().WithToken(storedAuth.Token).ListVersions(ctx, storedAuth.UserUUID)
	if err != nil {
		return failAPI(err)
	}
	if versions == nil {
		versions = []string{}
	}
	return printJSON(versions)
}

func runSecret(ctx context.Context, command string, args []string) int {
	fs := newFlags(command)
	rest, err := parseArgs(fs, args)
	want := map[string]int{"set": 2, "get": 1, "delete": 1, "list": 0}[command]
	if err != nil || len(rest) != want {
		return badUsage(command)
	}
	storedAuth, err := RequireAuth()
	if err != nil {
		return fail(err)
	}
	client := legerrun.NewClient().WithToken(storedAuth.Token)

	// The messages are secrets.go's, including its plain comparisons with ErrSecretNotFound.
	switch command {
	case "set":
		result, err := client.SetSecret(ctx, rest[0], rest[1])
		if err != nil {
			return failAPI(fmt.Errorf("failed to set secret: %w", err))
		}
		return printJSON(result)
	case "get":
		secret, err := client.GetSecret(ctx, rest[0])
		if err != nil {
			if err == legerrun.ErrSecretNotFound {
				return failAPI(fmt.Errorf("secret %q not found: %w", rest[0], err))
			}
			return failAPI(fmt.Errorf("failed to get secret: %w", err))
		}
		return printJSON(secret)
	case "delete":
		result, err := client.DeleteSecret(ctx, rest[0])
		if err != nil {
			if err == legerrun.ErrSecretNotFound {
				return failAPI(fmt.Errorf("secret %q not found: %w", rest[0], err))
			}
			return failAPI(fmt.Errorf("failed to delete secret: %w", err))
		}
		return printJSON(result)
	default:
		secrets, err := client.ListSecrets(ctx)
		if err != nil {
			return failAPI(fmt.Errorf("failed to list secrets: %w", err))
		}
		if secrets == nil {
			secrets = []legerrun.SecretMetadata{}
		}
		return printJSON(secrets)
	}
}
