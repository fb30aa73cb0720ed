// What a reaction's `emoji` may be (docs/protocol.md, "Reactions"): at most
// kMaxEmojiBytes of UTF-8 holding either one grapheme cluster as emojis
// make them, or a short name such as ":thumbsup:". The cluster check is a
// simple one, not Unicode's full segmentation: a base code point, then
// only what extends it (combining marks, variation selectors, skin-tone
// modifiers, tag characters, a keycap), ZWJ joining further bases, or a
// pair of regional indicators (a flag). Pure; any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace realtime::chat {

inline constexpr std::size_t kMaxEmojiBytes = 32;

// ":name:" with 1 to 30 of [a-z0-9_+-] between the colons (32 bytes in all).
bool is_emoji_short_name(std::string_view s);
// One grapheme cluster by the rule above; `s` must be valid UTF-8.
bool is_one_grapheme(std::string_view s);
// Either of the two, within kMaxEmojiBytes.
bool is_valid_emoji(std::string_view s);

}  // namespace realtime::chat
