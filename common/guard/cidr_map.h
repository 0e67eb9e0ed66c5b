// CidrMap<V>: values keyed by CIDR block, and CidrSet (the allowlist) on top.
// One hash map per (family, prefix length) keyed by the masked address, so a
// lookup costs one hash probe per prefix length in use (at most 33 or 129),
// never a scan of the entries. Not thread-safe; the owner locks.
#ifndef MUWARDEN_COMMON_GUARD_CIDR_MAP_H_
#define MUWARDEN_COMMON_GUARD_CIDR_MAP_H_

#include <array>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/guard/ip_address.h"

namespace muwarden::guard {

template <typename V>
class CidrMap {
 public:
  // The value stored for exactly this block, default-constructed if absent;
  // second is true when it was inserted.
  std::pair<V*, bool> Insert(const Cidr& cidr) {
    Family& f = FamilyOf(cidr.address.family);
    auto& map = f.by_len[static_cast<size_t>(cidr.prefix_len)];
    auto [it, inserted] = map.try_emplace(cidr.address);
    if (inserted) {
      ++size_;
      if (map.size() == 1) RebuildLens(f);
    }
    return {&it->second, inserted};
  }

  V* FindExact(const Cidr& cidr) {
    auto& map = FamilyOf(cidr.address.family)
                    .by_len[static_cast<size_t>(cidr.prefix_len)];
    auto it = map.find(cidr.address);
    return it == map.end() ? nullptr : &it->second;
  }
  const V* FindExact(const Cidr& cidr) const {
    const auto& map = FamilyOf(cidr.address.family)
                          .by_len[static_cast<size_t>(cidr.prefix_len)];
    auto it = map.find(cidr.address);
    return it == map.end() ? nullptr : &it->second;
  }

  bool Erase(const Cidr& cidr) {
    Family& f = FamilyOf(cidr.address.family);
    auto& map = f.by_len[static_cast<size_t>(cidr.prefix_len)];
    if (map.erase(cidr.address) == 0) return false;
    --size_;
    if (map.empty()) RebuildLens(f);
    return true;
  }

  // The value of the longest block containing ip for which accept(value) is
  // true, or nullptr. Blocks are tried from the longest prefix to the
  // shortest. *matched_len (if given) receives the block's prefix length.
  template <typename Pred>
  const V* FindMatch(const IpAddress& ip, Pred accept,
                     int* matched_len = nullptr) const {
    const Family& f = FamilyOf(ip.family);
    for (int len : f.lens) {
      const auto& map = f.by_len[static_cast<size_t>(len)];
      auto it = map.find(Masked(ip, len));
      if (it != map.end() && accept(it->second)) {
        if (matched_len != nullptr) *matched_len = len;
        return &it->second;
      }
    }
    return nullptr;
  }
  const V* FindLongest(const IpAddress& ip) const {
    return FindMatch(ip, [](const V&) { return true; });
  }

  // fn(const Cidr&, const V&) for every entry, in no particular order.
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (const Family* f : {&v4_, &v6_}) {
      for (int len : f->lens) {
        for (const auto& [addr, value] : f->by_len[static_cast<size_t>(len)]) {
          Cidr cidr;
          cidr.address = addr;
          cidr.prefix_len = len;
          fn(cidr, value);
        }
      }
    }
  }

  // Removes every entry for which pred(const V&) is true; returns how many.
  template <typename Pred>
  size_t EraseIf(Pred pred) {
    size_t erased = 0;
    for (Family* f : {&v4_, &v6_}) {
      for (int len : f->lens) {
        auto& map = f->by_len[static_cast<size_t>(len)];
        erased += absl::erase_if(
            map, [&](const auto& entry) { return pred(entry.second); });
      }
      RebuildLens(*f);
    }
    size_ -= erased;
    return erased;
  }

  void Clear() {
    for (Family* f : {&v4_, &v6_}) {
      for (auto& map : f->by_len) map.clear();
      f->lens.clear();
    }
    size_ = 0;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  struct Family {
    std::array<absl::flat_hash_map<IpAddress, V>, 129> by_len;
    // Prefix lengths with at least one entry, longest first.
    std::vector<int> lens;
  };

  Family& FamilyOf(IpFamily family) {
    return family == IpFamily::kV4 ? v4_ : v6_;
  }
  const Family& FamilyOf(IpFamily family) const {
    return family == IpFamily::kV4 ? v4_ : v6_;
  }
  static void RebuildLens(Family& f) {
    f.lens.clear();
    for (int len = 128; len >= 0; --len) {
      if (!f.by_len[static_cast<size_t>(len)].empty()) f.lens.push_back(len);
    }
  }

  Family v4_;
  Family v6_;
  size_t size_ = 0;
};

// A set of blocks: the allowlist. Copyable value type.
class CidrSet {
 public:
  // Comma-separated addresses and CIDRs, spaces around entries allowed, empty
  // entries skipped. kInvalidArgument naming the first bad entry.
  static absl::StatusOr<CidrSet> Parse(absl::string_view text);
  // The text Parse was given, blanks around it trimmed (settings print it
  // back).
  const std::string& text() const { return text_; }

  void Add(const Cidr& cidr) { map_.Insert(cidr); }
  bool Contains(const IpAddress& ip) const {
    return !map_.empty() && map_.FindLongest(ip) != nullptr;
  }
  size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }

 private:
  struct Present {};
  CidrMap<Present> map_;
  std::string text_;
};

}  // namespace muwarden::guard

#endif  // MUWARDEN_COMMON_GUARD_CIDR_MAP_H_
