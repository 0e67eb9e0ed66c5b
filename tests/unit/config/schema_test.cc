#include "common/config/schema.h"

#include "absl/strings/match.h"
#include "common/config/command_line.h"
#include "gtest/gtest.h"

namespace muwarden::config {
namespace {

// A unit's config struct as every unit writes one: in-class defaults and a
// Describe() beside them. Adding `retries` below is the whole edit a new key
// needs: the loader, the printer and the comments all follow.
struct WidgetConfig {
  int size = 3;
  size_t buffer_bytes = 8 * 1024;
  absl::Duration timeout = absl::Seconds(2);
  bool enabled = true;
  std::string label = "w";
  std::string file;
  int retries = 1;

  void Describe(Schema& s) {
    s.Integer("widget", "size", &size, 1, 10, "widgets per batch");
    s.Kib("widget", "buffer_kib", &buffer_bytes, 4, 64, "buffer in KiB");
    s.Seconds("widget", "timeout", &timeout, 0.1, 60, "how long to wait");
    s.Bool("widget", "enabled", &enabled, "on or off");
    s.String("widget", "label", &label, "a label", CheckNonEmpty);
    s.Path("files", "file", &file, "where it lives", "widget.txt");
    s.Integer("widget", "retries", &retries, 0, 5, "attempts after the first");
  }
};

std::string Joined(const SettingsErrors& errors) {
  std::string out;
  for (const auto& m : errors.messages()) out += m + "\n";
  return out;
}

void Load(Schema& schema, const std::string& ini,
          const std::vector<std::string>& sets, SettingsErrors& errors,
          const std::string& dir = "") {
  std::vector<Assignment> all = ParseIni(ini, "test.ini", dir, errors);
  for (const auto& set : sets) {
    Assignment a;
    if (ParseSetFlag(set, &a, errors)) all.push_back(a);
  }
  schema.Apply(all, errors);
  schema.Finish(errors);
}

TEST(SchemaTest, AKeyDescribedOnceIsLoadedPrintedAndCommented) {
  WidgetConfig w;
  Schema schema;
  w.Describe(schema);
  SettingsErrors errors;
  Load(schema, "[widget]\nretries = 4\n", {}, errors);
  ASSERT_TRUE(errors.empty()) << Joined(errors);
  EXPECT_EQ(w.retries, 4);
  EXPECT_EQ(schema.HelpOf("widget", "retries"),
            "attempts after the first (0..5)");
  const std::string printed = schema.PrintIni("title");
  EXPECT_TRUE(absl::StrContains(
      printed, "; attempts after the first (0..5)\nretries = 4\n"))
      << printed;
  SettingsErrors bad;
  Load(schema, "", {"widget.retries=6"}, bad);
  ASSERT_EQ(bad.messages().size(), 1u);
  EXPECT_EQ(bad.messages()[0],
            "widget.retries: out of range: 6 (allowed 0..5) [--set]");
}

TEST(SchemaTest, EveryKindRoundTripsThroughPrintedIni) {
  WidgetConfig w;
  Schema schema;
  w.Describe(schema);
  SettingsErrors errors;
  Load(schema,
       "[widget]\nsize = 7\nbuffer_kib = 16\ntimeout = 1.25\nenabled = no\n"
       "label =  hello \n[files]\nfile = /var/x\n",
       {}, errors);
  ASSERT_TRUE(errors.empty()) << Joined(errors);
  EXPECT_EQ(w.buffer_bytes, 16u * 1024);
  EXPECT_EQ(w.timeout, absl::Milliseconds(1250));
  EXPECT_FALSE(w.enabled);
  EXPECT_EQ(w.label, "hello");
  const std::string printed = schema.PrintIni("t");
  WidgetConfig again;
  Schema again_schema;
  again.Describe(again_schema);
  SettingsErrors again_errors;
  Load(again_schema, printed, {}, again_errors);
  ASSERT_TRUE(again_errors.empty()) << Joined(again_errors) << printed;
  EXPECT_EQ(again_schema.PrintIni("t"), printed);
  EXPECT_EQ(again.buffer_bytes, w.buffer_bytes);
  EXPECT_EQ(again.timeout, w.timeout);
}

TEST(SchemaTest, EveryBadValueIsNamedOnce) {
  WidgetConfig w;
  Schema schema;
  w.Describe(schema);
  SettingsErrors errors;
  Load(schema,
       "[widget]\nsize = +8\nbuffer_kib = 2\ntimeout = soon\nenabled = maybe\n"
       "label =\nbogus = 1\n[nosuch]\nx = 1\n",
       {"noequals"}, errors);
  const std::string all = Joined(errors);
  EXPECT_EQ(errors.messages().size(), 8u) << all;
  EXPECT_TRUE(absl::StrContains(
      all, "widget.size: not a whole number: '+8' (allowed 1..10)"))
      << all;
  EXPECT_TRUE(absl::StrContains(
      all, "widget.buffer_kib: out of range: 2 (allowed 4..64)"));
  EXPECT_TRUE(absl::StrContains(all, "widget.timeout: not a duration"));
  EXPECT_TRUE(absl::StrContains(all, "widget.enabled: not a boolean"));
  EXPECT_TRUE(absl::StrContains(all, "widget.label: must not be empty"));
  EXPECT_TRUE(absl::StrContains(all, "widget.bogus: unknown key"));
  EXPECT_TRUE(absl::StrContains(all, "nosuch.x: unknown key"));
  EXPECT_TRUE(
      absl::StrContains(all, "--set noequals: expected SECTION.KEY=VALUE"));
  // Nothing bad was stored.
  EXPECT_EQ(w.size, 3);
  EXPECT_EQ(w.label, "w");
}

TEST(SchemaTest, PathsAreRelativeToTheConfigFileAndMayDefaultBesideIt) {
  WidgetConfig w;
  Schema schema;
  w.Describe(schema);
  schema.SetConfigDir("/etc/mw");
  EXPECT_EQ(w.file, "/etc/mw/widget.txt");
  SettingsErrors errors;
  Load(schema, "[files]\nfile = data/w.txt\n", {}, errors, "/etc/mw");
  EXPECT_EQ(w.file, "/etc/mw/data/w.txt");
  Load(schema, "", {"files.file=rel.txt"}, errors);
  EXPECT_EQ(w.file, "rel.txt");  // a flag is relative to the working folder
  ASSERT_TRUE(errors.empty()) << Joined(errors);
}

TEST(SchemaTest, FamiliesAndRules) {
  std::vector<std::pair<int, std::string>> seen;
  Schema schema;
  Schema::Family family;
  family.prefix = "thing.";
  family.max_index = 9;
  family.apply = [&](int index, absl::string_view key,
                     absl::string_view value) -> absl::Status {
    if (key != "name") return absl::NotFoundError("unknown key");
    seen.emplace_back(index, std::string(value));
    return absl::OkStatus();
  };
  family.print = [&] { return std::string("\n[thing.1]\nname = a\n"); };
  schema.AddFamily(family);
  int rules_run = 0;
  schema.OnLoaded([&](SettingsErrors& errors) {
    ++rules_run;
    if (seen.size() > 1) errors.Add("thing: only one allowed");
  });
  SettingsErrors errors;
  Load(schema, "[thing.1]\nname = a\n[thing.10]\nname = b\n[thing.x]\nname=c\n",
       {"thing.2.color=red"}, errors);
  const std::string all = Joined(errors);
  EXPECT_EQ(errors.messages().size(), 3u) << all;
  EXPECT_TRUE(absl::StrContains(
      all,
      "thing.10.name: unknown section (expected [thing.N] with "
      "N a number 0..9)"))
      << all;
  EXPECT_TRUE(absl::StrContains(all, "thing.2.color: unknown key")) << all;
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_EQ(rules_run, 1);
  EXPECT_NE(schema.PrintIni("t").find("[thing.1]"), std::string::npos);
}

TEST(SchemaTest, IniSyntaxErrorsNameTheLine) {
  SettingsErrors errors;
  ParseIni("[a]\nx = 1\nnot a key line\n", "f.ini", "", errors);
  ASSERT_EQ(errors.messages().size(), 1u);
  EXPECT_EQ(errors.messages()[0],
            "f.ini:3: not INI syntax (expected [section] or key = value)");
}

#if !defined(__SANITIZE_THREAD__)  // TSan does not support death tests
TEST(SchemaDeathTest, AKeyDescribedTwiceIsAProgrammingError) {
  auto describe_twice = [] {
    int a = 0, b = 0;
    Schema schema;
    schema.Integer("s", "k", &a, 0, 1, "a");
    schema.Integer("s", "k", &b, 0, 1, "b");
  };
  EXPECT_DEATH(describe_twice(), "s.k described twice");
}
#endif

}  // namespace
}  // namespace muwarden::config
