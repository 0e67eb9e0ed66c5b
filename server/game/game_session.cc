#include "server/game/game_session.h"

#include <sodium.h>

#include <array>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/crypto/client_cipher.h"
#include "common/guard/security_log.h"
#include "common/protocol/frame.h"
#include "server/game/account/account_store.h"
#include "server/game/game_packets.h"
#include "server/game/character_class.h"
#include "server/game/join.h"
#include "server/game/walk.h"
#include "server/game/world_packets.h"

namespace muwarden::game {
namespace {

std::string HexByte(uint8_t b) {
  return absl::StrCat("0x", absl::Hex(b, absl::kZeroPad2));
}

}  // namespace

runtime::HandshakeConfig GameHandshake() {
  runtime::HandshakeConfig h;
  h.max_frame_size = 128;
  h.max_packets = 10;
  return h;
}

GameSession::GameSession(PlayerRegistry& registry)
    : registry_(registry),
      id_(registry.world().AllocateId()),
      from_client_(crypto::kClientToServerKeys),
      to_client_(crypto::kServerToClientKeys),
      chat_window_(registry.config().chat),
      whisper_window_(registry.config().whisper) {}

GameSession::~GameSession() {
  LeaveWorld();
  if (id_.has_value()) registry_.world().FreeId(*id_);
}

absl::Status GameSession::OnOpen(runtime::Connection& conn) {
  if (!id_.has_value()) {
    return absl::ResourceExhaustedError("no free object id");
  }
  // The join goes out before the connection has a worker (it waits for its
  // first byte without one), so the arena is taken at the first frame. The id
  // is the one the client knows itself by: the same one the map shows others.
  auto join = BuildJoin(*id_, registry_.config().join_version);
  return conn.Send(join);
}

bool GameSession::AllowedBeforeHandshake(const protocol::Frame& frame) const {
  // Login and ping are SimpleModulus-encrypted (C3); their codes are checked
  // once decrypted.
  return frame.header.type == protocol::kC3;
}

void GameSession::OnClose(runtime::Connection& conn) {
  LeaveWorld();
  if (slot_.held()) {
    LogInfo("game",
            absl::StrCat("left: ", slot_.name(), " from ", conn.peer_ip()));
  }
  slot_.Release();
}

absl::Status GameSession::OnFrame(runtime::Connection& conn,
                                  const protocol::Frame& frame) {
  if (buffer_.empty()) {
    buffer_ = conn.arena().Allocate(registry_.config().max_frame_size);
    if (buffer_.empty()) {
      return runtime::ArenaExhaustedError("no room for the decryption buffer");
    }
  }
  if (frame.bytes.size() > buffer_.size()) {
    // The assembler caps frames at max_frame_size, the size of buffer_.
    return absl::InternalError("frame larger than the decryption buffer");
  }
  absl::StatusOr<size_t> n =
      crypto::DecryptFromClient(frame.bytes, from_client_, buffer_);
  if (!n.ok()) {
    // A wrong counter (replayed, reordered or forged packet) is as malformed
    // as a bad checksum: both end in the "Malformed packet" line.
    if (absl::IsAborted(n.status()) || absl::IsOutOfRange(n.status())) {
      return absl::InvalidArgumentError(
          absl::StrCat("decrypt: ", n.status().message()));
    }
    return n.status();
  }
  const bool before_login = !slot_.held();
  absl::Status status =
      Dispatch(conn, buffer_.first(*n), frame.header.header_size);
  if (before_login) WipeLoginBytes(frame, *n);
  return status;
}

void GameSession::WipeLoginBytes(const protocol::Frame& frame,
                                 size_t decrypted) {
  // The decrypted login and its ciphertext (whose keys every client knows)
  // both carry the password. The frame lies in the connection's assembler
  // buffer, writable memory of its arena that the runtime hands out as const;
  // it is consumed once OnFrame runs, so clearing it changes nothing the
  // runtime still reads.
  sodium_memzero(buffer_.data(), decrypted);
  sodium_memzero(const_cast<uint8_t*>(frame.bytes.data()), frame.bytes.size());
}

absl::Status GameSession::Dispatch(runtime::Connection& conn,
                                   absl::Span<const uint8_t> plain,
                                   size_t header_size) {
  const uint8_t code = plain[header_size];
  const int sub = plain.size() > header_size + 1 ? plain[header_size + 1] : -1;
  if (!slot_.held()) {
    if (code == kCodeAccount && sub == kSubLogin) {
      return HandleLogin(conn, plain);
    }
    if (code == kCodePing) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("opcode ", HexByte(code), " before login"));
  }
  switch (code) {
    case kCodePing:
      // Keep-alive: the runtime's silence deadline was reset by the frame.
      return absl::OkStatus();
    case kCodeAccount:
      if (sub == kSubLogin) {
        return absl::FailedPreconditionError("login while logged in");
      }
      if (sub == kSubLogout) return HandleLogout(conn, plain);
      break;
    case kCodeCharacter:
      return HandleCharacter(conn, plain, sub);
    case kCodeChat:
    case kCodeWhisper:
      if (header_size == 2) return HandleChat(conn, plain);
      break;
    case kCodeWalk:
      return HandleWalk(conn, plain);
    case kCodeInstantMove:
      return HandleInstantMove(conn, plain);
    case kCodeRotation:
      return HandleRotation(plain);
    case kCodeQuestEx:
      if (sub == kSubQuestEx) return HandleQuestState(conn, plain);
      break;
    default:
      break;
  }
  // The rest of the game (attacks, items, ...) is not served yet; a real
  // client sends such packets all the time, so they are dropped rather than
  // closing its connection. The raw packet window still bounds them.
  registry_.counters().frames_ignored.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::Status GameSession::Answer(runtime::Connection& conn,
                                 LoginAnswer answer) {
  return conn.Send(BuildLoginAnswer(answer));
}

absl::Status GameSession::HandleLogin(runtime::Connection& conn,
                                      absl::Span<const uint8_t> plain) {
  // The answer is due login_answer_timeout after the packet arrived.
  const absl::Time now = registry_.clock().Now();
  const absl::Time deadline = now + registry_.config().login_answer_timeout;
  absl::StatusOr<LoginRequest> request = ParseLogin(plain);
  if (!request.ok()) return request.status();
  GameCounters& counters = registry_.counters();

  // A connection accepted before its IP was banned must not keep guessing.
  if (registry_.IsBanned(conn.peer())) {
    counters.logins_while_banned.fetch_add(1, std::memory_order_relaxed);
    guard::LogSecurity(guard::SecurityEvent::kBannedIp, conn.peer(),
                       "at login");
    return absl::PermissionDeniedError("banned IP");
  }
  // The serial identifies a client build (real clients never change it), so
  // refusing one is how a bot build is banned. Nothing else can follow on
  // this connection.
  if (!registry_.AcceptsClient(request->version, request->serial)) {
    counters.logins_wrong_client.fetch_add(1, std::memory_order_relaxed);
    absl::Status sent = Answer(conn, LoginAnswer::kWrongVersion);
    if (!sent.ok()) return sent;
    return absl::PermissionDeniedError("client version or serial refused");
  }
  // A name no account can have says nothing about which accounts exist: 2.
  if (!ValidateAccountName(request->username).ok()) {
    return LoginFailed(conn, "", LoginAnswer::kAccountInvalid);
  }
  // Checked before the password so an attack costs no hashing. Unknown names
  // are tracked and locked alike, so 14 does not tell whether an account
  // exists either. A block the account logged in from before is spared the
  // locks: guessing from elsewhere cannot lock its owner out.
  const LoginGrouping& grouping = registry_.grouping();
  const std::string block = guard::ClientBlock(conn.peer()).ToString();
  const bool known = registry_.accounts().IsKnownBlock(
      request->username, block,
      registry_.clock().WallNow() - grouping.known_for);
  LoginThrottle& throttle = registry_.throttle();
  switch (throttle.Check(request->username, conn.peer(), known, now)) {
    case LoginLock::kAccount:
      counters.logins_locked.fetch_add(1, std::memory_order_relaxed);
      return Answer(conn, LoginAnswer::kTemporarilyBlocked);
    case LoginLock::kPrefix:
      counters.logins_prefix_locked.fetch_add(1, std::memory_order_relaxed);
      return Answer(conn, LoginAnswer::kTemporarilyBlocked);
    case LoginLock::kNone:
      break;
  }
  if (known && throttle.Check(request->username, conn.peer(), false, now) !=
                   LoginLock::kNone) {
    counters.logins_known_block.fetch_add(1, std::memory_order_relaxed);
  }
  // Cheap early answer; Enter below decides for real.
  if (registry_.Full()) {
    counters.logins_server_full.fetch_add(1, std::memory_order_relaxed);
    return Answer(conn, LoginAnswer::kServerFull);
  }

  // The check waits its prefix's turn; one that cannot be done in time is
  // answered 7 within the deadline.
  LoginCheck check;
  {
    HashGate::Slot turn = registry_.login_gate().Acquire(
        PrefixKeyOf(conn.peer(), grouping.prefixes), deadline);
    if (!turn.held()) {
      counters.logins_check_timeout.fetch_add(1, std::memory_order_relaxed);
      return Answer(conn, LoginAnswer::kConnectionError);
    }
    check = registry_.accounts().Verify(request->username,
                                        request->password.view());
  }
  request->password.Wipe();
  switch (check.result) {
    case LoginResult::kOk:
      break;
    case LoginResult::kNoSuchAccount:
    case LoginResult::kWrongPassword:
      // Both are answered 0 (not 2 for an unknown name): a different answer
      // would let anyone enumerate account names. Verify takes the same time
      // for both.
      return LoginFailed(conn, request->username,
                         LoginAnswer::kInvalidPassword);
    case LoginResult::kBlocked:
      counters.logins_blocked.fetch_add(1, std::memory_order_relaxed);
      return Answer(conn, LoginAnswer::kBlocked);
    case LoginResult::kTemporarilyBlocked:
      counters.logins_blocked.fetch_add(1, std::memory_order_relaxed);
      return Answer(conn, LoginAnswer::kTemporarilyBlocked);
    case LoginResult::kUnavailable:
      counters.logins_unavailable.fetch_add(1, std::memory_order_relaxed);
      LogWarn("game",
              absl::StrCat("account store unavailable for a login from ",
                           conn.peer_ip()));
      return Answer(conn, LoginAnswer::kConnectionError);
  }

  const std::string name =
      check.account.has_value() ? check.account->name : request->username;
  absl::StatusOr<PlayerRegistry::PlayerSlot> slot =
      registry_.Enter(name, conn.Outbound());
  if (!slot.ok()) {
    if (absl::IsAlreadyExists(slot.status())) {
      counters.logins_already_connected.fetch_add(1, std::memory_order_relaxed);
      return Answer(conn, LoginAnswer::kAlreadyConnected);
    }
    if (absl::IsUnavailable(slot.status())) {
      counters.logins_unavailable.fetch_add(1, std::memory_order_relaxed);
      LogWarn("game", absl::StrCat("session lease unavailable for a login from ",
                                   conn.peer_ip(), ": ", slot.status().message()));
      return Answer(conn, LoginAnswer::kConnectionError);
    }
    counters.logins_server_full.fetch_add(1, std::memory_order_relaxed);
    return Answer(conn, LoginAnswer::kServerFull);
  }
  slot_ = *std::move(slot);
  stage_ = Stage::kAccount;
  conn.CompleteHandshake();
  conn.MarkProtected();  // logged in: never evicted; the block becomes known
  counters.logins_ok.fetch_add(1, std::memory_order_relaxed);
  // The block is known from now on (and its last visit refreshed).
  registry_.accounts().RecordKnownBlock(
      name, block, registry_.clock().WallNow() - grouping.known_for);
  LogInfo("game", absl::StrCat("login: ", name, " from ", conn.peer_ip()));
  return Answer(conn, LoginAnswer::kOk);
}

absl::Status GameSession::LoginFailed(runtime::Connection& conn,
                                      absl::string_view name,
                                      LoginAnswer answer) {
  ++failed_logins_;
  GameCounters& counters = registry_.counters();
  counters.logins_failed.fetch_add(1, std::memory_order_relaxed);
  const LoginFailureVerdict verdict = registry_.throttle().RecordFailure(
      conn.peer(), name, registry_.clock().Now());
  std::string details = name.empty() ? std::string("invalid account name")
                                     : absl::StrCat("account ", name);
  if (verdict.account_locked) {
    counters.accounts_locked.fetch_add(1, std::memory_order_relaxed);
    absl::StrAppend(&details, " locked");
  }
  if (verdict.prefix_locked) {
    counters.prefixes_locked.fetch_add(1, std::memory_order_relaxed);
    absl::StrAppend(&details, "; prefix locked");
  }
  if (verdict.ban_ip) {
    // Durable before the line that announces it (fail2ban may act on it).
    absl::StrAppend(&details, "; ",
                    registry_.BanIp(conn.peer(), "failed logins"));
  }
  guard::LogSecurity(guard::SecurityEvent::kLoginFailed, conn.peer(), details);
  const bool last = failed_logins_ >= kMaxFailedLoginsPerConnection;
  absl::Status sent =
      Answer(conn, last ? LoginAnswer::kTooManyFailures : answer);
  if (!sent.ok()) return sent;
  if (last) return absl::CancelledError("too many failed logins");
  if (verdict.ban_ip) return absl::PermissionDeniedError("IP banned");
  return absl::OkStatus();
}

absl::Status GameSession::HandleLogout(runtime::Connection& conn,
                                       absl::Span<const uint8_t> plain) {
  absl::StatusOr<uint8_t> type = ParseLogout(plain);
  if (!type.ok()) return type.status();
  // The player leaves the map first (observers get 14), then the answer.
  LeaveWorld();
  absl::Status sent = SendEncrypted(conn, BuildLogoutAnswer(*type));
  if (!sent.ok()) return sent;
  if (*type == kLogoutCharacterSelect) {
    stage_ = Stage::kAccount;  // the client asks for the list again
    return absl::OkStatus();
  }
  // Closing the game or going back to server select leaves this server: the
  // player slot is freed now, and the connection ends.
  LogInfo("game",
          absl::StrCat("logout: ", slot_.name(), " from ", conn.peer_ip()));
  slot_.Release();
  stage_ = Stage::kLoggedOut;
  return absl::CancelledError("logout");
}

absl::Status GameSession::HandleCharacterList(runtime::Connection& conn,
                                              absl::Span<const uint8_t> plain) {
  absl::StatusOr<uint8_t> language = ParseCharacterListRequest(plain);
  if (!language.ok()) return language.status();
  if (stage_ == Stage::kWorld) return Ignore();
  absl::StatusOr<std::vector<CharacterRecord>> list =
      registry_.accounts().characters().ListCharacters(slot_.name());
  if (!list.ok()) {
    LogWarn("game", absl::StrCat("character list of ", slot_.name(), ": ",
                                 list.status().message()));
    return Ignore();
  }
  stage_ = Stage::kCharacterList;
  return conn.Send(BuildCharacterList(kUnlockAllClasses, *list));
}

absl::Status GameSession::SendEncrypted(runtime::Connection& conn,
                                        absl::Span<const uint8_t> plain) {
  // Server to client C3/C4 packets are SimpleModulus only (no Xor32), with
  // this connection's server-to-client counter.
  const size_t header = plain[0] == 0xC4 ? 3 : 2;
  std::vector<uint8_t> wire(
      crypto::SimpleModulusEncryptedSize(plain.size(), header));
  absl::StatusOr<size_t> n = to_client_.Encrypt(plain, absl::MakeSpan(wire));
  if (!n.ok()) return absl::InternalError(n.status().message());
  return conn.Send(absl::MakeConstSpan(wire.data(), *n));
}

absl::Status GameSession::Ignore() {
  registry_.counters().world_requests_ignored.fetch_add(
      1, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::Status GameSession::HandleCharacter(runtime::Connection& conn,
                                          absl::Span<const uint8_t> plain,
                                          int sub) {
  switch (sub) {
    case kSubCharacterList:
      return HandleCharacterList(conn, plain);
    case kSubCharacterCreate:
      return HandleCreate(conn, plain);
    case kSubCharacterDelete:
      return HandleDelete(conn, plain);
    case kSubCharacterSelect:
      return HandleSelect(conn, plain);
    default:
      registry_.counters().frames_ignored.fetch_add(1,
                                                    std::memory_order_relaxed);
      return absl::OkStatus();
  }
}

absl::Status GameSession::HandleCreate(runtime::Connection& conn,
                                       absl::Span<const uint8_t> plain) {
  absl::StatusOr<CreateRequest> request = ParseCreate(plain);
  if (!request.ok()) return request.status();
  if (stage_ != Stage::kCharacterList) return Ignore();
  GameCounters& counters = registry_.counters();
  std::optional<CharacterRecord> fresh;
  if (ValidateCharacterName(request->name).ok()) {
    fresh = NewCharacter(request->name, request->class_number,
                         std::random_device{}());
  }
  if (!fresh.has_value()) {
    counters.characters_create_refused.fetch_add(1, std::memory_order_relaxed);
    return conn.Send(BuildCreateFailed(kCreateFailed));
  }
  absl::StatusOr<CharacterRecord> stored =
      registry_.accounts().characters().CreateCharacter(
          slot_.name(), *fresh, registry_.config().world.max_characters);
  if (!stored.ok()) {
    counters.characters_create_refused.fetch_add(1, std::memory_order_relaxed);
    if (!absl::IsAlreadyExists(stored.status()) &&
        !absl::IsResourceExhausted(stored.status())) {
      LogWarn("game", absl::StrCat("create character: ",
                                   stored.status().message()));
    }
    return conn.Send(BuildCreateFailed(kCreateFailed));
  }
  counters.characters_created.fetch_add(1, std::memory_order_relaxed);
  LogInfo("game", absl::StrCat("character created: ", stored->name, " by ",
                               slot_.name()));
  return conn.Send(BuildCreateOk(*stored));
}

absl::Status GameSession::HandleDelete(runtime::Connection& conn,
                                       absl::Span<const uint8_t> plain) {
  absl::StatusOr<DeleteRequest> request = ParseDelete(plain);
  if (!request.ok()) return request.status();
  if (stage_ != Stage::kCharacterList) return Ignore();
  GameCounters& counters = registry_.counters();
  CharacterStore& characters = registry_.accounts().characters();
  absl::StatusOr<std::string> code = characters.SecurityCode(slot_.name());
  if (!code.ok()) {
    counters.characters_delete_refused.fetch_add(1, std::memory_order_relaxed);
    return conn.Send(BuildDeleteAnswer(kDeleteFailed));
  }
  bool right = false;
  if (code->empty()) {
    // No code set: the account password, checked by the account store (one
    // Argon2id verify under its hash slots).
    right = registry_.accounts()
                .Verify(slot_.name(), request->security_code)
                .result == LoginResult::kOk;
  } else {
    // Constant time in the stored code's length.
    uint8_t diff = code->size() == request->security_code.size() ? 0 : 1;
    for (size_t i = 0; i < code->size(); ++i) {
      const char given = i < request->security_code.size()
                             ? request->security_code[i]
                             : '\0';
      diff |= static_cast<uint8_t>((*code)[i] ^ given);
    }
    right = diff == 0;
  }
  if (!right) {
    counters.characters_delete_refused.fetch_add(1, std::memory_order_relaxed);
    absl::Status sent = conn.Send(BuildDeleteAnswer(kDeleteWrongCode));
    if (!sent.ok()) return sent;
    if (++wrong_delete_codes_ >= kMaxWrongDeleteCodesPerConnection) {
      return absl::CancelledError("too many wrong delete codes");
    }
    return absl::OkStatus();
  }
  absl::Status deleted =
      characters.DeleteCharacter(slot_.name(), request->name);
  if (!deleted.ok()) {
    counters.characters_delete_refused.fetch_add(1, std::memory_order_relaxed);
    return conn.Send(BuildDeleteAnswer(kDeleteFailed));
  }
  counters.characters_deleted.fetch_add(1, std::memory_order_relaxed);
  LogInfo("game", absl::StrCat("character deleted: ", request->name, " by ",
                               slot_.name()));
  return conn.Send(BuildDeleteAnswer(kDeleteOk));
}

absl::Status GameSession::HandleSelect(runtime::Connection& conn,
                                       absl::Span<const uint8_t> plain) {
  absl::StatusOr<std::string> name = ParseSelect(plain);
  if (!name.ok()) return name.status();
  if (stage_ != Stage::kCharacterList) return Ignore();
  absl::StatusOr<CharacterRecord> character =
      registry_.accounts().characters().GetCharacter(slot_.name(), *name);
  // Someone else's character, a deleted one or a blocked one: the client
  // stays where it is (the reference server does not answer either).
  if (!character.ok() || (character->status & 0x01) != 0) return Ignore();
  World& world = registry_.world();
  if (!world.ClaimName(character->name, conn.Outbound()).ok()) return Ignore();
  character_ = *std::move(character);

  absl::Status sent =
      SendEncrypted(conn, BuildCharacterInformation(character_));
  if (sent.ok()) sent = SendEncrypted(conn, BuildEmptyInventory());
  if (sent.ok()) sent = conn.Send(BuildEmptySkillList());
  if (sent.ok()) sent = conn.Send(BuildQuestStates(character_.class_number));
  if (sent.ok()) sent = conn.Send(BuildQuestStateAnswer());
  if (!sent.ok()) {
    world.ReleaseName(character_.name);
    return sent;
  }
  ScopeEntry self;
  self.id = *id_;
  self.x = self.target_x = character_.x;
  self.y = self.target_y = character_.y;
  self.appearance = NakedAppearance(character_.class_number);
  self.name = character_.name;
  self.rotation = static_cast<uint8_t>(character_.direction & 0x07);
  // The scope (the player himself first) reaches him through his own queue,
  // after the packets above.
  if (!world.map(character_.map).Enter(self, conn.Outbound())) {
    world.ReleaseName(character_.name);
    return absl::InternalError("object id already on the map");
  }
  stage_ = Stage::kWorld;
  registry_.counters().world_entered.fetch_add(1, std::memory_order_relaxed);
  LogInfo("game", absl::StrCat("entered: ", character_.name, " (",
                               slot_.name(), ") map ", character_.map, " at ",
                               character_.x, ",", character_.y));
  return absl::OkStatus();
}

absl::Status GameSession::PutBack(runtime::Connection& conn) {
  registry_.counters().walks_put_back.fetch_add(1, std::memory_order_relaxed);
  return conn.Send(BuildInstantMove(*id_, character_.x, character_.y));
}

absl::Status GameSession::HandleWalk(runtime::Connection& conn,
                                     absl::Span<const uint8_t> plain) {
  absl::StatusOr<WalkRequest> walk = ParseWalk(plain);
  if (!walk.ok()) return walk.status();
  if (stage_ != Stage::kWorld) return Ignore();
  const WorldConfig& wc = registry_.config().world;
  std::optional<Point> target =
      CheckWalk(*walk, Point{character_.x, character_.y},
                WalkLimits{wc.max_walk_steps, wc.walk_tolerance});
  if (!target.has_value()) return PutBack(conn);
  character_.x = target->x;
  character_.y = target->y;
  character_.direction = static_cast<uint8_t>(walk->rotation & 0x07);
  registry_.counters().walks.fetch_add(1, std::memory_order_relaxed);
  // One packet for every observer and the walker.
  const auto packet =
      BuildWalk(*id_, character_.x, character_.y, character_.direction);
  registry_.world().map(character_.map).Move(*id_, character_.x, character_.y,
                                             character_.direction, packet);
  return absl::OkStatus();
}

absl::Status GameSession::HandleInstantMove(runtime::Connection& conn,
                                            absl::Span<const uint8_t> plain) {
  absl::StatusOr<Point> to = ParseInstantMove(plain);
  if (!to.ok()) return to.status();
  if (stage_ != Stage::kWorld) return Ignore();
  // Without teleport skills or map gates, an instant move is only believed as
  // far as a walk's start may stray.
  if (TileDistance(*to, Point{character_.x, character_.y}) >
      registry_.config().world.walk_tolerance) {
    return PutBack(conn);
  }
  character_.x = to->x;
  character_.y = to->y;
  const auto packet = BuildInstantMove(*id_, character_.x, character_.y);
  registry_.world().map(character_.map).Move(*id_, character_.x, character_.y,
                                             character_.direction, packet);
  return absl::OkStatus();
}

absl::Status GameSession::HandleRotation(absl::Span<const uint8_t> plain) {
  absl::StatusOr<RotationRequest> turn = ParseRotation(plain);
  if (!turn.ok()) return turn.status();
  if (stage_ != Stage::kWorld) return Ignore();
  character_.direction = static_cast<uint8_t>(turn->direction & 0x07);
  registry_.world().map(character_.map).Turn(
      *id_, character_.direction,
      BuildRotation(*id_, turn->direction, turn->animation, 0));
  return absl::OkStatus();
}

absl::Status GameSession::HandleQuestState(runtime::Connection& conn,
                                           absl::Span<const uint8_t> plain) {
  if (absl::Status s = ParseQuestStateRequest(plain); !s.ok()) return s;
  if (stage_ != Stage::kWorld) return Ignore();
  return conn.Send(BuildQuestStateAnswer());
}

void GameSession::LeaveWorld() {
  if (stage_ != Stage::kWorld) return;
  stage_ = Stage::kAccount;
  World& world = registry_.world();
  world.map(character_.map).Leave(*id_);
  world.ReleaseName(character_.name);
  absl::Status saved = registry_.accounts().characters().SavePosition(
      character_.name, character_.map, character_.x, character_.y,
      character_.direction);
  if (!saved.ok()) {
    registry_.counters().position_save_errors.fetch_add(
        1, std::memory_order_relaxed);
    LogWarn("game", absl::StrCat("position of ", character_.name,
                                 " not saved: ", saved.message()));
  }
}

absl::Status GameSession::HandleChat(runtime::Connection& conn,
                                     absl::Span<const uint8_t> plain) {
  absl::StatusOr<ChatRequest> chat = ParseChat(plain);
  if (!chat.ok()) return chat.status();
  // Chat is a world thing: names are character names.
  if (stage_ != Stage::kWorld) return Ignore();
  if (chat->message.empty()) return absl::OkStatus();
  GameCounters& counters = registry_.counters();
  if (chat->truncated) {
    counters.chat_truncated.fetch_add(1, std::memory_order_relaxed);
  }
  const absl::Time now = conn.clock().Now();
  // The sender's name is his character's, never the name field the client
  // filled in, so nobody can speak as someone else.
  if (chat->kind == ChatKind::kPublic) {
    if (!chat_window_.TryAcquire(now)) {
      counters.chat_rate_dropped.fetch_add(1, std::memory_order_relaxed);
      return absl::OkStatus();
    }
    // Built once for every player in view, the sender included.
    const size_t delivered =
        registry_.world().map(character_.map).SendToView(
            *id_,
            BuildChat(ChatKind::kPublic, character_.name, chat->message),
            /*include_self=*/true);
    counters.chat_delivered.fetch_add(delivered, std::memory_order_relaxed);
    return absl::OkStatus();
  }
  if (!whisper_window_.TryAcquire(now)) {
    counters.whisper_rate_dropped.fetch_add(1, std::memory_order_relaxed);
    return absl::OkStatus();
  }
  if (registry_.world().SendToCharacter(
          chat->name,
          BuildChat(ChatKind::kWhisper, character_.name, chat->message))) {
    counters.whisper_delivered.fetch_add(1, std::memory_order_relaxed);
  } else {
    counters.whisper_no_receiver.fetch_add(1, std::memory_order_relaxed);
  }
  return absl::OkStatus();
}

}  // namespace muwarden::game
