/// Facts and process control that differ between the operating systems the
/// agent runs on. The members live in `Platform+Linux.swift` and
/// `Platform+Windows.swift`; everything else in the agent stays
/// platform-neutral by going through this type.
public enum Platform {}
