#include "server/game/game_packets.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tests/unit/server/game/game_test_util.h"

namespace muwarden::game {
namespace {

using testing::Bytes;
using testing::HexBytes;

Bytes ChatPacket(uint8_t code, const std::string& name,
                 const std::string& message, bool terminate = true) {
  Bytes p(13, 0);
  p[0] = 0xC1;
  p[2] = code;
  std::copy_n(name.begin(), std::min<size_t>(name.size(), 10), p.begin() + 3);
  for (char c : message) p.push_back(static_cast<uint8_t>(c));
  if (terminate) p.push_back(0);
  p[1] = static_cast<uint8_t>(p.size());
  return p;
}

TEST(GamePacketsTest, ParsesPublicChat) {
  auto chat = ParseChat(ChatPacket(0x00, "test0", "hello"));
  ASSERT_TRUE(chat.ok()) << chat.status();
  EXPECT_EQ(chat->kind, ChatKind::kPublic);
  EXPECT_EQ(chat->name, "test0");
  EXPECT_EQ(chat->message, "hello");
  EXPECT_FALSE(chat->truncated);
}

TEST(GamePacketsTest, ParsesWhisperWithFullTenByteName) {
  auto chat = ParseChat(ChatPacket(0x02, "abcdefghij", "psst", false));
  ASSERT_TRUE(chat.ok()) << chat.status();
  EXPECT_EQ(chat->kind, ChatKind::kWhisper);
  EXPECT_EQ(chat->name, "abcdefghij");
  EXPECT_EQ(chat->message, "psst");
}

TEST(GamePacketsTest, MessageEndsAtFirstZero) {
  Bytes p = ChatPacket(0x00, "a", "hi");
  p.push_back('x');
  p[1] = static_cast<uint8_t>(p.size());
  EXPECT_EQ(ParseChat(p)->message, "hi");
}

TEST(GamePacketsTest, ShortOrBadChatIsMalformed) {
  Bytes p = ChatPacket(0x00, "a", "");
  p.resize(12);
  p[1] = 12;
  EXPECT_EQ(ParseChat(p).status().code(), absl::StatusCode::kInvalidArgument);
  p = ChatPacket(0x00, "a", "hi");
  p[1] = 40;  // length field lies
  EXPECT_EQ(ParseChat(p).status().code(), absl::StatusCode::kInvalidArgument);
  p = ChatPacket(0x05, "a", "hi");
  EXPECT_EQ(ParseChat(p).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GamePacketsTest, LongMessageIsCutToTheCap) {
  const std::string long_text(241, 'x');  // the most a C1 packet can carry
  auto chat = ParseChat(ChatPacket(0x00, "a", long_text, false));
  ASSERT_TRUE(chat.ok());
  EXPECT_TRUE(chat->truncated);
  EXPECT_EQ(chat->message.size(), kMaxChatMessageBytes);
}

TEST(GamePacketsTest, CutNeverSplitsAUtf8Sequence) {
  // 199 ASCII bytes then a 3-byte character straddling the cap at 200.
  std::string text(199, 'a');
  text += "\xE2\x82\xAC";  // euro sign
  EXPECT_EQ(CutUtf8(text, 200).size(), 199u);
  EXPECT_EQ(CutUtf8(text, 202).size(), 202u);
  EXPECT_EQ(CutUtf8("\xC3\xA9\xC3\xA9", 3), "\xC3\xA9");
  // Not UTF-8 (a run of continuation bytes): cut at the cap.
  EXPECT_EQ(CutUtf8(std::string(10, '\x80'), 5).size(), 5u);
  EXPECT_EQ(CutUtf8("short", 200), "short");
}

TEST(GamePacketsTest, BuildChatExactBytes) {
  EXPECT_EQ(Bytes(BuildChat(ChatKind::kPublic, "test0", "hi")),
            HexBytes("C1 10 00 74 65 73 74 30 00 00 00 00 00 68 69 00"));
  EXPECT_EQ(Bytes(BuildChat(ChatKind::kWhisper, "abcdefghijKL", "")),
            HexBytes("C1 0E 02 61 62 63 64 65 66 67 68 69 6A 00"));
}

TEST(GamePacketsTest, BuiltChatLengthNeverWraps) {
  const std::string huge(10000, 'z');
  Bytes p = BuildChat(ChatKind::kPublic, "abcdefghij", huge);
  EXPECT_EQ(p.size(), 13 + kMaxChatMessageBytes + 1);
  EXPECT_EQ(p[1], p.size());
  EXPECT_LE(p.size(), 255u);
}

TEST(GamePacketsTest, Logout) {
  EXPECT_EQ(*ParseLogout(HexBytes("C3 05 F1 02 00")), 0);
  EXPECT_EQ(*ParseLogout(HexBytes("C3 05 F1 02 02")), 2);
  EXPECT_EQ(ParseLogout(HexBytes("C3 05 F1 02 03")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseLogout(HexBytes("C3 06 F1 02 00 00")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseLogout(HexBytes("C3 04 F1 02")).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto a = BuildLogoutAnswer(1);
  EXPECT_EQ(Bytes(a.begin(), a.end()), HexBytes("C3 05 F1 02 01"));
}

TEST(GamePacketsTest, CharacterList) {
  EXPECT_EQ(*ParseCharacterListRequest(HexBytes("C1 05 F3 00 02")), 2);
  EXPECT_EQ(ParseCharacterListRequest(HexBytes("C1 04 F3 00")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ParseCharacterListRequest(HexBytes("C1 06 F3 00 00 00")).status().code(),
      absl::StatusCode::kInvalidArgument);
  auto list = BuildEmptyCharacterList();
  EXPECT_EQ(Bytes(list.begin(), list.end()),
            HexBytes("C1 08 F3 00 00 00 00 00"));
}

}  // namespace
}  // namespace muwarden::game
