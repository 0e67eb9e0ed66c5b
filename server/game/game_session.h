// GameSession: the runtime Session of the GameServer. Sends the join packet on
// accept (with this connection's object id from the World); decrypts every
// frame (SimpleModulus for C3/C4 with this connection's counters, then
// Xor32); before login accepts only the login and pings, and a good login
// completes the handshake; after it serves the characters (list, create,
// delete, select), the world (enter, walk, instant move, rotation, public chat
// to the players in view, whispers by character name, under per-client
// sliding-window limits) and logout. Stages: logged out -> account (logged in)
// -> character list (listed) -> world; a request of a later stage is ignored
// (counted), a malformed one closes. Per connection; not thread-safe (the
// shared state lives in PlayerRegistry and World).
#ifndef MUWARDEN_SERVER_GAME_GAME_SESSION_H_
#define MUWARDEN_SERVER_GAME_GAME_SESSION_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/types/span.h"
#include "common/crypto/simple_modulus.h"
#include "common/guard/sliding_window.h"
#include "common/runtime/session.h"
#include "server/game/login.h"
#include "server/game/account/character_store.h"
#include "server/game/player_registry.h"

namespace muwarden::game {

// The GameServer's Layer-2 rules. The largest frame before login is the
// encrypted 60-byte login: 2 + 11 * ceil(59 / 8) = 90 bytes on the wire, so
// 128 leaves room without admitting anything larger. Ten frames cover three
// login tries (the third failure closes) and the pings a client sends while
// its user types.
runtime::HandshakeConfig GameHandshake();

// Failed logins on one connection; the last is answered 8 and closes.
inline constexpr int kMaxFailedLoginsPerConnection = 3;
// Wrong delete codes on one connection (each may cost an Argon2id verify);
// the last is answered 2 and closes.
inline constexpr int kMaxWrongDeleteCodesPerConnection = 3;

class GameSession final : public runtime::Session {
 public:
  // Takes an object id from registry.world() (given back on destruction).
  explicit GameSession(PlayerRegistry& registry);
  ~GameSession() override;

  absl::Status OnOpen(runtime::Connection& conn) override;
  bool AllowedBeforeHandshake(const protocol::Frame& frame) const override;
  absl::Status OnFrame(runtime::Connection& conn,
                       const protocol::Frame& frame) override;
  void OnClose(runtime::Connection& conn) override;

  bool logged_in() const { return slot_.held(); }
  int failed_logins() const { return failed_logins_; }
  bool in_world() const { return stage_ == Stage::kWorld; }
  uint16_t object_id() const { return id_.value_or(0); }

 private:
  enum class Stage { kLoggedOut, kAccount, kCharacterList, kWorld };

  // `plain` is one decrypted packet (header with the decrypted length).
  absl::Status Dispatch(runtime::Connection& conn,
                        absl::Span<const uint8_t> plain, size_t header_size);
  absl::Status HandleLogin(runtime::Connection& conn,
                           absl::Span<const uint8_t> plain);
  // A failed login (wrong credentials or an impossible name): counts it, logs
  // it, bans the IP at its limit, answers `answer` (8 on the last failure).
  absl::Status LoginFailed(runtime::Connection& conn, absl::string_view name,
                           LoginAnswer answer);
  absl::Status HandleLogout(runtime::Connection& conn,
                            absl::Span<const uint8_t> plain);
  absl::Status HandleCharacterList(runtime::Connection& conn,
                                   absl::Span<const uint8_t> plain);
  absl::Status HandleChat(runtime::Connection& conn,
                          absl::Span<const uint8_t> plain);
  absl::Status Answer(runtime::Connection& conn, LoginAnswer answer);
  // Clears the decrypted packet and its frame once a frame before login was
  // handled (a login carries the password).
  void WipeLoginBytes(const protocol::Frame& frame, size_t decrypted);
  // SimpleModulus with the server-to-client key and counter, then sent.
  absl::Status SendEncrypted(runtime::Connection& conn,
                             absl::Span<const uint8_t> plain);
  absl::Status HandleCharacter(runtime::Connection& conn,
                               absl::Span<const uint8_t> plain, int sub);
  absl::Status HandleCreate(runtime::Connection& conn,
                            absl::Span<const uint8_t> plain);
  absl::Status HandleDelete(runtime::Connection& conn,
                            absl::Span<const uint8_t> plain);
  absl::Status HandleSelect(runtime::Connection& conn,
                            absl::Span<const uint8_t> plain);
  absl::Status HandleWalk(runtime::Connection& conn,
                          absl::Span<const uint8_t> plain);
  absl::Status HandleInstantMove(runtime::Connection& conn,
                                 absl::Span<const uint8_t> plain);
  absl::Status HandleRotation(absl::Span<const uint8_t> plain);
  absl::Status HandleQuestState(runtime::Connection& conn,
                                absl::Span<const uint8_t> plain);
  // `15` with the server's position, to this client only.
  absl::Status PutBack(runtime::Connection& conn);
  // A valid request this stage does not allow: ignored, counted.
  absl::Status Ignore();
  // Leaves the map (observers get 14), frees the name and saves the position.
  void LeaveWorld();

  PlayerRegistry& registry_;
  const std::optional<uint16_t> id_;
  Stage stage_ = Stage::kLoggedOut;
  // The character in the world (stage kWorld); position kept current.
  CharacterRecord character_;
  int wrong_delete_codes_ = 0;
  crypto::SimpleModulusDecryptor from_client_;
  crypto::SimpleModulusEncryptor to_client_;
  // Decryption output, from the connection's arena (one frame).
  absl::Span<uint8_t> buffer_;
  int failed_logins_ = 0;
  PlayerRegistry::PlayerSlot slot_;
  guard::SlidingWindow chat_window_;
  guard::SlidingWindow whisper_window_;
};

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_GAME_SESSION_H_
