import ArgumentParser
import QuarryConfig

/// `--read-only`, for the commands that only read the store (`serve`, `query`, `verify`).
struct ReadOnlyOption: ParsableArguments {
    @Flag(
        help: """
            Open the store read-only (default: $QUARRY_READ_ONLY, else read_only in the configuration): it answers \
            queries and verify, takes no writes, and nothing in its directory is changed. A store on a read-only \
            file system is opened so without it.
            """
    )
    var readOnly = false

    /// Sets `read_only` when the flag was given.
    func apply(to settings: inout QuarryConfiguration) {
        if readOnly { settings.readOnly = true }
    }
}
