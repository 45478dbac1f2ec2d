/// Turns a page model into the plain values Mustache renders fastest:
/// structs become `[String: Any]`, optionals are unwrapped (nil keys are
/// left out, so sections see them as false), arrays are converted element by
/// element. swift-mustache otherwise reflects a struct with `Mirror` on every
/// single lookup; converting once made the 300-host fleet page several times
/// cheaper to render (scripts/bench-web).
enum TemplateValues {
    static func convert(_ value: Any) -> Any? {
        switch value {
        case let text as String: return text
        case let flag as Bool: return flag
        case let number as Int: return number
        case let number as Int64: return number
        case let number as Double: return number
        case let values as [String: String]: return values
        case let values as [String: Bool]: return values
        default: break
        }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            return mirror.children.first.flatMap { convert($0.value) }
        case .collection, .set:
            return mirror.children.compactMap { convert($0.value) }
        case .struct, .class:
            var fields: [String: Any] = [:]
            for child in mirror.children {
                guard let label = child.label, let converted = convert(child.value) else { continue }
                fields[label] = converted
            }
            return fields
        default:
            return value
        }
    }
}
