/// Formatting for error reasons that are sent back to agents.
///
/// Reasons may quote a piece of the input so an operator can see what was
/// wrong, but never more than ``maxQuotedCharacters`` of it: a hostile or
/// buggy peer must not be able to make us echo megabytes back.
enum ErrorText {
    static let maxQuotedCharacters = 64

    /// `value` in double quotes, shortened with "…" and with control
    /// characters escaped so the reason stays on one line.
    static func quote(_ value: some StringProtocol) -> String {
        var result = "\""
        var taken = 0
        for scalar in value.unicodeScalars {
            if taken == maxQuotedCharacters {
                result += "…"
                break
            }
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                result += "\\u{\(String(scalar.value, radix: 16))}"
            default: result.unicodeScalars.append(scalar)
            }
            taken += 1
        }
        return result + "\""
    }

    /// `value` cut to ``maxQuotedCharacters`` characters, for storing a
    /// peer-supplied name (such as an unknown message type) in an error.
    static func truncate(_ value: String) -> String {
        guard value.count > maxQuotedCharacters else { return value }
        return String(value.prefix(maxQuotedCharacters)) + "…"
    }
}
