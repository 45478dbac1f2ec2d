/// The shell a host's hooks run in: a program and its leading arguments,
/// parsed from the host config's `hook_shell` (`/bin/sh -c`,
/// `powershell -NoProfile -Command`, `"C:\Program Files\PowerShell\7\pwsh.exe" -Command`).
/// The hook's command text is appended as one more argument, never
/// re-split, so it reaches the shell exactly as the admin wrote it.
struct HookShell: Sendable, Equatable {
    var program: String
    var leadingArguments: [String]

    /// Parses `text` (whitespace-separated words; double quotes group words
    /// with spaces). Empty text means ``Platform/defaultHookShell``.
    init(parsing text: String) throws(HookShellError) {
        let words = try Self.words(in: text.isEmpty ? Platform.defaultHookShell : text)
        guard let program = words.first else { throw HookShellError(reason: "hook_shell names no program") }
        self.program = program
        self.leadingArguments = Array(words.dropFirst())
    }

    /// The program as a child-process executable: a path if it contains a
    /// path separator, else a name looked up on `PATH`.
    var executable: ChildProcess.Executable {
        program.contains("/") || program.contains("\\") ? .path(program) : .name(program)
    }

    func arguments(running command: String) -> [String] {
        leadingArguments + [command]
    }

    private static func words(in text: String) throws(HookShellError) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var inQuotes = false
        for character in text {
            if character == "\"" {
                inQuotes.toggle()
                inWord = true
            } else if character.isWhitespace, !inQuotes {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        guard !inQuotes else { throw HookShellError(reason: "hook_shell has an unterminated quote") }
        if inWord { words.append(current) }
        return words
    }
}

/// `hook_shell` cannot be used.
struct HookShellError: Error, Sendable, Equatable {
    let reason: String
}
