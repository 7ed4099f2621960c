import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file so that readers see either the old contents or the complete new ones, never a
/// partial file: the bytes go to a fresh temporary file in the same directory (same file system,
/// so the rename is atomic), are flushed to disk, and the temporary file is then renamed over the
/// real name with rename(2). On any failure the temporary file is removed and the old file is left
/// as it was. A crash can at worst leave a stray `.NAME.tmp-*` file, never a truncated `NAME`.
/// A symbolic link at the name is replaced, never followed.
///
/// The one way the package writes a file: checkpoints, vocabularies, lexicons, n-grams, ARPA text.
/// Callers turn a `Failure` into their own error, which names what the file is.
enum AtomicFileWriter {
    /// What failed, in words ("cannot flush to disk (No space left on device)").
    struct Failure: Error {
        let problem: String
    }

    static func store(_ data: Data, at url: URL) throws(Failure) {
        let directory = url.deletingLastPathComponent()
        let suffix = String(UInt64.random(in: 0 ... UInt64.max), radix: 36)
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(suffix)")
        func fail(_ action: String, _ code: Int32) -> Failure {
            Failure(problem: "cannot \(action) (\(String(cString: strerror(code))))")
        }

        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw fail("create a temporary file beside it", errno) }
        var renamed = false
        defer { if !renamed { unlink(temporary.path) } }

        var failure: Failure?
        data.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count, let base = raw.baseAddress {
                let result = systemWrite(descriptor, base + written, raw.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = fail("write", errno)
                    return
                }
                written += result
            }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = fail("flush to disk", errno) }
        if close(descriptor) != 0, failure == nil { failure = fail("close", errno) }
        if let failure { throw failure }

        guard rename(temporary.path, url.path) == 0 else { throw fail("rename the temporary file into place", errno) }
        renamed = true
        // Make the rename itself durable; best effort, as some file systems refuse to sync a directory.
        let directoryDescriptor = open(directory.path, O_RDONLY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            _ = close(directoryDescriptor)
        }
    }

    /// write(2), named apart so it cannot be confused with any `write` method in scope.
    private static func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        return Glibc.write(descriptor, buffer, count)
        #elseif canImport(Musl)
        return Musl.write(descriptor, buffer, count)
        #else
        return Darwin.write(descriptor, buffer, count)
        #endif
    }
}
