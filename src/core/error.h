// Errors as values. Convention (see docs/ARCHITECTURE.md, "Errors"):
//  - A fallible function returns Result<T> (a [[nodiscard]] std::expected<T, Error>) or Status
//    (Result<void>) and is [[nodiscard]] through the type: a dropped result does not compile (-Werror).
//  - An Error carries the errno that caused it (0 when none) and a message; callers add context with
//    WithContext("what we were doing") so the final line reads outermost-first:
//      "mount plan: bind /src -> /dst: open /src: No such file or directory"
//  - ErrnoError() must be called right after the failing syscall (it reads errno).
//  - Code that runs in the sandbox child after clone() does not build Errors (they allocate); it uses
//    ChildFail() in process/child_error.h instead.
#pragma once

#include <cerrno>
#include <cstring>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace airlock {

class Error {
 public:
  Error() = default;
  Error(std::string message, int err = 0) : message_(std::move(message)), errno_(err) {}

  int err() const { return errno_; }
  const std::string& message() const { return message_; }

  // Prepends "context: " to the message.
  Error& WithContext(std::string_view context) & {
    message_ = std::string(context) + ": " + message_;
    return *this;
  }
  Error&& WithContext(std::string_view context) && {
    message_ = std::string(context) + ": " + message_;
    return std::move(*this);
  }

  // The full one-line description, "message: strerror(errno)".
  std::string What() const {
    if (errno_ == 0) return message_;
    return message_ + ": " + std::strerror(errno_);
  }

 private:
  std::string message_;
  int errno_ = 0;
};

// std::expected<T, Error> that must be looked at: libstdc++ 12 does not mark std::expected
// [[nodiscard]], so the type is derived here and marked instead. Dropping a returned Result or Status
// is then a -Wunused-result warning (an error with -Werror); discard on purpose with `(void)` and a
// comment saying why. Everything else is std::expected's: construction from a value, from
// std::unexpected, from another expected, value()/error()/has_value(), assignment.
template <class T>
class [[nodiscard]] Result : public std::expected<T, Error> {
 public:
  using Base = std::expected<T, Error>;
  using Base::Base;
  using Base::operator=;
  Result() = default;
  Result(const Base& other) : Base(other) {}
  Result(Base&& other) : Base(std::move(other)) {}
};
using Status = Result<void>;

inline std::unexpected<Error> MakeError(std::string message, int err = 0) {
  return std::unexpected<Error>(Error(std::move(message), err));
}
// Reads errno; call immediately after the failing call.
inline std::unexpected<Error> ErrnoError(std::string message) {
  int saved = errno;
  return std::unexpected<Error>(Error(std::move(message), saved));
}
inline Status Ok() { return {}; }

// Propagates an error with added context:  AIRLOCK_TRY(x, Foo(), "doing foo");
#define AIRLOCK_TRY_STATUS(expr, ctx)                                        \
  do {                                                                       \
    auto airlock_try_r_ = (expr);                                            \
    if (!airlock_try_r_) return std::unexpected(std::move(airlock_try_r_.error()).WithContext(ctx)); \
  } while (0)

}  // namespace airlock
