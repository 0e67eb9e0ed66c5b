#include "common/guard/ip_table.h"

namespace muwarden::guard::internal {

void LruList::PushFront(LruLink* link) {
  link->prev = &head_;
  link->next = head_.next;
  head_.next->prev = link;
  head_.next = link;
}

void LruList::Unlink(LruLink* link) {
  link->prev->next = link->next;
  link->next->prev = link->prev;
  link->prev = link;
  link->next = link;
}

}  // namespace muwarden::guard::internal
