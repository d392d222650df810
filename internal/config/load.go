package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// configFileEnv names the config file when --config is not given.
const configFileEnv = "GANNET_CONFIG"

// Load builds a Config from Default, then the config file, then the
// environment (read through lookupEnv, normally os.LookupEnv), then args (the
// flags that follow "gannet serve"). Later sources win. A value that is set
// but empty counts as set, which is how a listener is turned off.
//
// Load does not validate; call Validate on the result. It returns
// flag.ErrHelp after writing usage to output when args ask for help.
func Load(args []string, lookupEnv func(string) (string, bool), output io.Writer) (Config, error) {
	table := settings()
	defaults := Default()

	flags := flag.NewFlagSet("gannet serve", flag.ContinueOnError)
	flags.SetOutput(output)
	configPath := flags.String("config", "", "YAML config file (also "+configFileEnv+"); keys are the flag names with _ for -")
	type assignment struct {
		setting setting
		value   string
	}
	var fromFlags []assignment
	for _, s := range table {
		usage := fmt.Sprintf("%s (env %s, default %q)", s.usage, s.envName(), s.show(defaults))
		flags.Func(s.flagName(), usage, func(value string) error {
			// Parse now so that a bad value is reported by the flag
			// package with the flag's name; apply later, after the file
			// and the environment.
			var scratch Config
			if err := s.apply(&scratch, value); err != nil {
				return err
			}
			fromFlags = append(fromFlags, assignment{s, value})
			return nil
		})
	}
	flags.Usage = func() {
		fmt.Fprintf(output, "Usage: gannet serve [flags]\n\n"+
			"Settings come from defaults, then the --config file, then GANNET_* variables, then flags.\n"+
			"An empty address (--amqp-addr=) turns that listener off.\n\nFlags:\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return Config{}, err
	}
	if flags.NArg() > 0 {
		return Config{}, fmt.Errorf("config: unexpected argument %q; gannet serve takes only flags (see gannet serve -h)", flags.Arg(0))
	}

	cfg := defaults
	path := *configPath
	if path == "" {
		path, _ = lookupEnv(configFileEnv)
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: reading config file: %w", err)
		}
		if err := applyFile(&cfg, path, data, table); err != nil {
			return Config{}, err
		}
	}
	for _, s := range table {
		value, ok := lookupEnv(s.envName())
		if !ok {
			continue
		}
		if err := s.apply(&cfg, value); err != nil {
			return Config{}, fmt.Errorf("config: environment variable %s: %w", s.envName(), err)
		}
	}
	for _, a := range fromFlags {
		if err := a.setting.apply(&cfg, a.value); err != nil {
			return Config{}, fmt.Errorf("config: flag --%s: %w", a.setting.flagName(), err)
		}
	}
	return cfg, nil
}

// applyFile reads a YAML mapping of setting keys to scalar values. It walks
// the node tree rather than decoding into a struct so that an empty value
// stays distinguishable from an absent key, and so that errors can name the
// line.
func applyFile(cfg *Config, path string, data []byte, table []setting) error {
	var document yaml.Node
	if err := yaml.Unmarshal(data, &document); err != nil {
		return fmt.Errorf("config: config file %s is not valid YAML: %w", path, err)
	}
	if len(document.Content) == 0 {
		return nil // an empty file sets nothing
	}
	root := document.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("config: config file %s line %d: expected key: value pairs at the top level", path, root.Line)
	}
	byKey := make(map[string]setting, len(table))
	for _, s := range table {
		byKey[s.key] = s
	}
	firstLine := make(map[string]int)
	for i := 0; i+1 < len(root.Content); i += 2 {
		keyNode, valueNode := root.Content[i], root.Content[i+1]
		key := keyNode.Value
		s, known := byKey[key]
		if !known {
			return unknownKeyError(path, keyNode.Line, key, byKey)
		}
		if line, seen := firstLine[key]; seen {
			return fmt.Errorf("config: config file %s line %d: key %q is already set on line %d; keep one", path, keyNode.Line, key, line)
		}
		firstLine[key] = keyNode.Line
		if valueNode.Kind != yaml.ScalarNode {
			return fmt.Errorf("config: config file %s line %d: key %q needs a single value, not a list or mapping", path, valueNode.Line, key)
		}
		value := valueNode.Value
		if valueNode.Tag == "!!null" {
			value = "" // "amqp_addr:" with nothing after it turns the listener off
		}
		if err := s.apply(cfg, value); err != nil {
			return fmt.Errorf("config: config file %s line %d: key %q: %w", path, valueNode.Line, key, err)
		}
	}
	return nil
}

func unknownKeyError(path string, line int, key string, byKey map[string]setting) error {
	if _, ok := byKey[strings.ReplaceAll(key, "-", "_")]; ok {
		return fmt.Errorf("config: config file %s line %d: unknown key %q; did you mean %q? File keys use underscores",
			path, line, key, strings.ReplaceAll(key, "-", "_"))
	}
	known := make([]string, 0, len(byKey))
	for k := range byKey {
		known = append(known, k)
	}
	sort.Strings(known)
	return fmt.Errorf("config: config file %s line %d: unknown key %q; known keys are %s",
		path, line, key, strings.Join(known, ", "))
}

// IsHelp reports whether err means the user asked for usage, which is not a
// failure.
func IsHelp(err error) bool { return errors.Is(err, flag.ErrHelp) }
