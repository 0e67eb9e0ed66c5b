// Schema: the generic settings loader. Each unit describes its own keys next to
// its config struct (section, key, range, one-line comment, the field it
// fills) by calling the typed methods below on a Schema bound to the struct
// instance being loaded; the loader then applies INI and `--set` assignments
// through those descriptions, runs the units' cross-key rules, and prints the
// effective settings back as INI that loads to the same values (Envoy's shape:
// each filter owns its config, one loader reads them all). A Schema holds
// pointers into the structs it describes: build it, load, print, and drop it
// before the structs move. Not thread-safe; used once at start-up.
#ifndef MUWARDEN_COMMON_CONFIG_SCHEMA_H_
#define MUWARDEN_COMMON_CONFIG_SCHEMA_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/config/value.h"

namespace muwarden::config {

// One `section.key=value` assignment with where it came from.
struct Assignment {
  std::string section;
  std::string key;
  std::string value;
  std::string origin;  // "file.ini:12" or "--set", for error messages
  std::string dir;     // the config file's folder, for relative paths; or ""
};

// Collects every problem instead of stopping at the first, so an operator
// fixes them all at once.
class SettingsErrors {
 public:
  void Add(std::string message) { messages_.push_back(std::move(message)); }
  bool empty() const { return messages_.empty(); }
  const std::vector<std::string>& messages() const { return messages_; }

 private:
  std::vector<std::string> messages_;
};

// Parses INI text into assignments (inih); syntax errors go to `errors` with
// their line. `dir` is recorded in each assignment for relative paths.
std::vector<Assignment> ParseIni(const std::string& text,
                                 const std::string& origin,
                                 const std::string& dir,
                                 SettingsErrors& errors);
// Parses "section.key=value" (the section may hold dots:
// "gameserver.1.port=55902").
bool ParseSetFlag(absl::string_view text, Assignment* out,
                  SettingsErrors& errors);

class Schema {
 public:
  using Check = std::function<absl::Status(absl::string_view)>;

  // A whole number in [min, max], into any integer field.
  template <typename T>
  void Integer(absl::string_view section, absl::string_view key, T* field,
               int64_t min, int64_t max, absl::string_view help) {
    static_assert(std::is_integral_v<T>);
    AddKey(
        section, key, absl::StrCat(help, " (", min, "..", max, ")"),
        [field, min, max](absl::string_view v, const std::string&) {
          absl::StatusOr<int64_t> n = ParseInteger(v, min, max);
          if (!n.ok()) return n.status();
          *field = static_cast<T>(*n);
          return absl::OkStatus();
        },
        [field] { return absl::StrCat(*field); });
  }
  // A size given in KiB (`min_kib..max_kib`) into a field that holds bytes.
  void Kib(absl::string_view section, absl::string_view key, size_t* bytes,
           int64_t min_kib, int64_t max_kib, absl::string_view help);
  // Seconds (fractions and "500ms" allowed) in [min_s, max_s].
  void Seconds(absl::string_view section, absl::string_view key,
               absl::Duration* field, double min_s, double max_s,
               absl::string_view help);
  void Bool(absl::string_view section, absl::string_view key, bool* field,
            absl::string_view help);
  // Text, blanks around it trimmed; `check` (if any) refuses bad values.
  void String(absl::string_view section, absl::string_view key,
              std::string* field, absl::string_view help,
              Check check = nullptr);
  // A file path. A relative value in a config file is taken relative to that
  // file's folder. When a config file is loaded and `beside_config` is not
  // empty, the default becomes `<config folder>/<beside_config>`. `check`
  // (if any) refuses bad values as given.
  void Path(absl::string_view section, absl::string_view key,
            std::string* field, absl::string_view help,
            absl::string_view beside_config = {}, Check check = nullptr);
  // Any other type: `parse` turns the text into the field's value (the unit's
  // own parser), `format` prints it back so that `parse` gives it again.
  template <typename T>
  void Custom(absl::string_view section, absl::string_view key, T* field,
              absl::string_view help,
              std::function<absl::StatusOr<T>(absl::string_view)> parse,
              std::function<std::string(const T&)> format) {
    AddKey(
        section, key, std::string(help),
        [field, parse](absl::string_view v, const std::string&) {
          absl::StatusOr<T> parsed = parse(v);
          if (!parsed.ok()) return parsed.status();
          *field = *std::move(parsed);
          return absl::OkStatus();
        },
        [field, format] { return format(*field); });
  }

  // Numbered sections `[<prefix>N]` (N in 0..max_index): `apply` takes one
  // key of section N, `print` writes every such section as INI.
  struct Family {
    std::string prefix;  // "gameserver."
    int max_index = 65535;
    std::function<absl::Status(int index, absl::string_view key,
                               absl::string_view value)>
        apply;
    std::function<std::string()> print;
  };
  void AddFamily(Family family);

  // A rule over several keys, or a value derived from them, run once after
  // every assignment is applied; it reports problems into `errors` naming the
  // keys.
  void OnLoaded(std::function<void(SettingsErrors& errors)> rule);

  // Sets the defaults that depend on the config file's folder (Path keys with
  // `beside_config`). Call before Apply when a file is loaded.
  void SetConfigDir(const std::string& dir);
  // Applies assignments in order; unknown keys, bad values and out-of-range
  // values are errors naming `section.key`, the reason and the allowed range.
  void Apply(const std::vector<Assignment>& assignments,
             SettingsErrors& errors);
  // Runs the OnLoaded rules.
  void Finish(SettingsErrors& errors);

  // INI text with every key under its section, each with its comment; loading
  // it gives the same settings. `title` lines are printed first as comments.
  std::string PrintIni(absl::string_view title) const;

  // The one-line comment the INI shows above `section.key` (with its range),
  // or "" for an unknown key.
  std::string HelpOf(absl::string_view section, absl::string_view key) const;
  // "section.key" of every described key, in description order.
  std::vector<std::string> KeyNames() const;

 private:
  using Setter = std::function<absl::Status(absl::string_view value,
                                            const std::string& dir)>;
  using Getter = std::function<std::string()>;
  struct Key {
    std::string section;
    std::string key;
    std::string help;
    Setter set;
    Getter get;
    std::function<void(const std::string& dir)> on_config_dir;
  };
  Key& AddKey(absl::string_view section, absl::string_view key,
              std::string help, Setter set, Getter get);
  const Key* Find(absl::string_view section, absl::string_view key) const;

  std::vector<Key> keys_;
  std::vector<Family> families_;
  std::vector<std::function<void(SettingsErrors&)>> rules_;
};

// Checks shared by several units' String keys.
absl::Status CheckNonEmpty(absl::string_view v);
// At most `max_len` characters, none of them a control character.
absl::Status CheckPrintable(absl::string_view v, size_t max_len);

}  // namespace muwarden::config

#endif  // MUWARDEN_COMMON_CONFIG_SCHEMA_H_
