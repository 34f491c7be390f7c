// The Validator concept: a callable that turns a model's answer text into a
// typed value or a rejection reason the model can act on, and the
// combinators that compose validators (and_then, all_of).
#pragma once

#include <speedrunner/core/error.hpp>

#include <concepts>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace speedrunner::validate {

// A Validator names the value it produces and maps an answer to it, or to an
// Error whose `what` is the reason, written to the model ("the answer has no
// ```python block; ...").
template <class V>
concept Validator = requires(const std::remove_cvref_t<V>& v, std::string_view answer) {
  typename std::remove_cvref_t<V>::value_type;
  { v(answer) } -> std::same_as<Result<typename std::remove_cvref_t<V>::value_type>>;
};

template <class V>
using value_t = typename std::remove_cvref_t<V>::value_type;

// A rejection: the reason goes back to the model, so it says what was wrong
// and what a good answer looks like.
[[nodiscard]] inline std::unexpected<Error> reject(std::string reason) {
  return fail(std::move(reason), {}, ExitCode::failure);
}

namespace detail {
template <class V>
concept has_value_type = requires { typename V::value_type; };
template <class V>
concept callable_on_answer = requires(const V& v, std::string_view answer) { v(answer); };
}  // namespace detail

// One sentence per missing member, instead of a substitution failure, when a
// type handed to Agent::act is not a Validator. `static_assert(check_validator<V>())`.
template <class V>
consteval bool check_validator() {
  using U = std::remove_cvref_t<V>;
  static_assert(detail::has_value_type<U>,
                "a Validator needs `using value_type = T;` naming the value an accepted answer gives");
  static_assert(detail::callable_on_answer<U>,
                "a Validator needs a const `operator()(std::string_view answer)`");
  static_assert(Validator<U> || !detail::has_value_type<U> || !detail::callable_on_answer<U>,
                "a Validator's operator() must return Result<value_type>: the value, or an Error "
                "whose `what` is the rejection reason");
  return Validator<U>;
}

// ---- and_then: validate, then refine the value (a function value -> Result<U>,
// or another Validator fed the first one's string value) ----

template <Validator First, class Next>
struct AndThen {
  First first;
  Next next;

  using next_result = std::remove_cvref_t<std::invoke_result_t<const Next&, value_t<First>&&>>;
  using value_type = typename next_result::value_type;
  static_assert(std::same_as<next_result, Result<value_type>>,
                "and_then's second step must return Result<U> for the first step's value");

  [[nodiscard]] Result<value_type> operator()(std::string_view answer) const {
    auto value = first(answer);
    if (!value) return std::unexpected(std::move(value.error()));
    return std::invoke(next, std::move(*value));
  }
};

// and_then(code_block("json"), JsonObject{}) reads the last ```json block as JSON;
// and_then(JsonAs<Idea>{}, [](Idea i) -> Result<Idea> {...}) adds a check.
template <Validator First, class Next>
[[nodiscard]] AndThen<std::remove_cvref_t<First>, std::remove_cvref_t<Next>> and_then(First&& first,
                                                                                      Next&& next) {
  return {std::forward<First>(first), std::forward<Next>(next)};
}

// ---- all_of: every validator on the same answer; a tuple of their values,
// or every rejection reason at once so the model fixes them together ----

template <Validator... Parts>
struct AllOf {
  std::tuple<Parts...> parts;

  using value_type = std::tuple<value_t<Parts>...>;

  [[nodiscard]] Result<value_type> operator()(std::string_view answer) const {
    auto results = std::apply([&](const auto&... v) { return std::tuple{v(answer)...}; }, parts);
    std::string reasons;
    int rejected = 0;
    auto note = [&](const auto& r) {
      if (r) return;
      ++rejected;
      if (!reasons.empty()) reasons += '\n';
      reasons += r.error().what;
    };
    std::apply([&](const auto&... r) { (note(r), ...); }, results);
    if (rejected == 1) return reject(std::move(reasons));
    if (rejected > 1) return reject("the answer has " + std::to_string(rejected) + " problems:\n" + reasons);
    return std::apply([](auto&... r) { return value_type{std::move(*r)...}; }, results);
  }
};

template <Validator... Parts>
[[nodiscard]] AllOf<std::remove_cvref_t<Parts>...> all_of(Parts&&... parts) {
  return {std::tuple<std::remove_cvref_t<Parts>...>{std::forward<Parts>(parts)...}};
}

}  // namespace speedrunner::validate
