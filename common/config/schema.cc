#include "common/config/schema.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "ini.h"

namespace muwarden::config {

absl::Status CheckNonEmpty(absl::string_view v) {
  if (v.empty()) return absl::InvalidArgumentError("must not be empty");
  return absl::OkStatus();
}

absl::Status CheckPrintable(absl::string_view v, size_t max_len) {
  if (v.size() > max_len) {
    return absl::OutOfRangeError(absl::StrCat(
        "too long: ", v.size(), " characters (allowed up to ", max_len, ")"));
  }
  for (char c : v) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return absl::InvalidArgumentError("contains a control character");
    }
  }
  return absl::OkStatus();
}

std::vector<Assignment> ParseIni(const std::string& text,
                                 const std::string& origin,
                                 const std::string& dir,
                                 SettingsErrors& errors) {
  struct Context {
    std::vector<Assignment> out;
    const std::string* origin;
    const std::string* dir;
  } ctx{{}, &origin, &dir};
  auto handler = [](void* user, const char* section, const char* name,
                    const char* value) -> int {
    auto* c = static_cast<Context*>(user);
    if (name == nullptr) return 1;  // a section header alone
    c->out.push_back({absl::AsciiStrToLower(section),
                      absl::AsciiStrToLower(name),
                      value == nullptr ? "" : value, *c->origin, *c->dir});
    return 1;
  };
  const int rc = ini_parse_string(text.c_str(), handler, &ctx);
  if (rc > 0) {
    errors.Add(
        absl::StrCat(origin, ":", rc,
                     ": not INI syntax (expected [section] or key = value)"));
  } else if (rc < 0) {
    errors.Add(absl::StrCat(origin, ": could not be parsed"));
  }
  return std::move(ctx.out);
}

bool ParseSetFlag(absl::string_view text, Assignment* out,
                  SettingsErrors& errors) {
  const size_t eq = text.find('=');
  const absl::string_view name =
      eq == absl::string_view::npos ? text : text.substr(0, eq);
  const size_t dot = name.rfind('.');
  if (eq == absl::string_view::npos || dot == absl::string_view::npos ||
      dot == 0 || dot + 1 == name.size()) {
    errors.Add(
        absl::StrCat("--set ", text,
                     ": expected SECTION.KEY=VALUE, e.g. server.port=44405"));
    return false;
  }
  out->section =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(name.substr(0, dot)));
  out->key =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(name.substr(dot + 1)));
  out->value = std::string(text.substr(eq + 1));
  out->origin = "--set";
  out->dir.clear();
  return true;
}

Schema::Key& Schema::AddKey(absl::string_view section, absl::string_view key,
                            std::string help, Setter set, Getter get) {
  if (Find(section, key) != nullptr) {
    // Two units describing one key is a programming error, caught by every
    // settings test.
    std::fprintf(stderr, "settings key %s.%s described twice\n",
                 std::string(section).c_str(), std::string(key).c_str());
    std::abort();
  }
  keys_.push_back({std::string(section), std::string(key), std::move(help),
                   std::move(set), std::move(get), nullptr});
  return keys_.back();
}

const Schema::Key* Schema::Find(absl::string_view section,
                                absl::string_view key) const {
  for (const Key& k : keys_) {
    if (k.section == section && k.key == key) return &k;
  }
  return nullptr;
}

void Schema::Kib(absl::string_view section, absl::string_view key,
                 size_t* bytes, int64_t min_kib, int64_t max_kib,
                 absl::string_view help) {
  AddKey(
      section, key, absl::StrCat(help, " (", min_kib, "..", max_kib, ")"),
      [bytes, min_kib, max_kib](absl::string_view v, const std::string&) {
        absl::StatusOr<int64_t> n = ParseInteger(v, min_kib, max_kib);
        if (!n.ok()) return n.status();
        *bytes = static_cast<size_t>(*n) * 1024;
        return absl::OkStatus();
      },
      [bytes] { return absl::StrCat(*bytes / 1024); });
}

void Schema::Seconds(absl::string_view section, absl::string_view key,
                     absl::Duration* field, double min_s, double max_s,
                     absl::string_view help) {
  AddKey(
      section, key,
      absl::StrCat(help, " (seconds, ", FormatNumber(min_s), "..",
                   FormatNumber(max_s), ")"),
      [field, min_s, max_s](absl::string_view v, const std::string&) {
        absl::StatusOr<absl::Duration> d = ParseSeconds(v, min_s, max_s);
        if (!d.ok()) return d.status();
        *field = *d;
        return absl::OkStatus();
      },
      [field] { return FormatSeconds(*field); });
}

void Schema::Bool(absl::string_view section, absl::string_view key, bool* field,
                  absl::string_view help) {
  AddKey(
      section, key, absl::StrCat(help, " (true/false)"),
      [field](absl::string_view v, const std::string&) {
        absl::StatusOr<bool> b = ParseBool(v);
        if (!b.ok()) return b.status();
        *field = *b;
        return absl::OkStatus();
      },
      [field]() -> std::string { return *field ? "true" : "false"; });
}

void Schema::String(absl::string_view section, absl::string_view key,
                    std::string* field, absl::string_view help, Check check) {
  AddKey(
      section, key, std::string(help),
      [field, check](absl::string_view v, const std::string&) {
        std::string t(absl::StripAsciiWhitespace(v));
        if (check) {
          absl::Status status = check(t);
          if (!status.ok()) return status;
        }
        *field = std::move(t);
        return absl::OkStatus();
      },
      [field] { return *field; });
}

void Schema::Path(absl::string_view section, absl::string_view key,
                  std::string* field, absl::string_view help,
                  absl::string_view beside_config, Check check) {
  Key& k = AddKey(
      section, key, std::string(help),
      [field, check](absl::string_view v, const std::string& dir) {
        std::string t(absl::StripAsciiWhitespace(v));
        absl::Status status = CheckPrintable(t, 4096);
        if (status.ok() && check) status = check(t);
        if (!status.ok()) return status;
        if (!t.empty() && t[0] != '/' && !dir.empty()) {
          t = absl::StrCat(dir, "/", t);
        }
        *field = std::move(t);
        return absl::OkStatus();
      },
      [field] { return *field; });
  if (!beside_config.empty()) {
    k.on_config_dir =
        [field, name = std::string(beside_config)](const std::string& dir) {
          *field = absl::StrCat(dir, "/", name);
        };
  }
}

void Schema::AddFamily(Family family) {
  families_.push_back(std::move(family));
}

void Schema::OnLoaded(std::function<void(SettingsErrors&)> rule) {
  rules_.push_back(std::move(rule));
}

void Schema::SetConfigDir(const std::string& dir) {
  for (const Key& k : keys_) {
    if (k.on_config_dir) k.on_config_dir(dir);
  }
}

void Schema::Apply(const std::vector<Assignment>& assignments,
                   SettingsErrors& errors) {
  for (const Assignment& a : assignments) {
    absl::Status status;
    const Family* family = nullptr;
    for (const Family& f : families_) {
      if (absl::StartsWith(a.section, f.prefix)) family = &f;
    }
    if (family != nullptr) {
      // A section name has no blanks: "[gameserver. 1]" is not section 1.
      const std::string number = a.section.substr(family->prefix.size());
      absl::StatusOr<int64_t> index =
          ParseInteger(number, 0, family->max_index);
      if (!index.ok() || number != absl::StripAsciiWhitespace(number)) {
        status = absl::InvalidArgumentError(
            absl::StrCat("unknown section (expected [", family->prefix,
                         "N] with N a number 0..", family->max_index, ")"));
      } else {
        status = family->apply(static_cast<int>(*index), a.key, a.value);
      }
    } else if (const Key* k = Find(a.section, a.key); k == nullptr) {
      status = absl::NotFoundError("unknown key");
    } else {
      status = k->set(a.value, a.dir);
    }
    if (!status.ok()) {
      errors.Add(absl::StrCat(a.section, ".", a.key, ": ", status.message(),
                              " [", a.origin, "]"));
    }
  }
}

void Schema::Finish(SettingsErrors& errors) {
  for (const auto& rule : rules_) rule(errors);
}

std::string Schema::PrintIni(absl::string_view title) const {
  std::string out;
  for (absl::string_view line : absl::StrSplit(title, '\n')) {
    absl::StrAppend(&out, "; ", line, "\n");
  }
  // Sections in the order they were first described, keys in description
  // order within each.
  std::vector<std::string> sections;
  for (const Key& k : keys_) {
    if (std::find(sections.begin(), sections.end(), k.section) ==
        sections.end()) {
      sections.push_back(k.section);
    }
  }
  for (const std::string& section : sections) {
    absl::StrAppend(&out, "\n[", section, "]\n");
    for (const Key& k : keys_) {
      if (k.section != section) continue;
      absl::StrAppend(&out, "; ", k.help, "\n", k.key, " = ", k.get(), "\n");
    }
  }
  for (const Family& f : families_) absl::StrAppend(&out, f.print());
  return out;
}

std::string Schema::HelpOf(absl::string_view section,
                           absl::string_view key) const {
  const Key* k = Find(section, key);
  return k == nullptr ? std::string() : k->help;
}

std::vector<std::string> Schema::KeyNames() const {
  std::vector<std::string> names;
  for (const Key& k : keys_)
    names.push_back(absl::StrCat(k.section, ".", k.key));
  return names;
}

}  // namespace muwarden::config
