import Foundation

/// What makes `clear` keep its promise when it is interrupted, and what it leaves beside the file.
///
/// Before erasing, `clear` creates `<history>.clearing`; only when the rows are deleted, the WAL
/// checkpointed and the file vacuumed does it remove it. A clear cut short (killed, a full disk)
/// leaves the marker, and the next writable open of the history finishes the clear before
/// anything else. Copies moved aside as damaged (`<history>.damaged-…`) hold learned text too:
/// `damagedCopies` lists them and `deleteDamagedCopies` removes them.
enum HistoryClearing {
    static func markerURL(of file: URL) -> URL { URL(fileURLWithPath: file.path + ".clearing") }

    /// Creates the marker (and syncs it and its folder, so it outlives a power cut too).
    static func mark(_ file: URL) throws {
        let marker = markerURL(of: file).path
        let fd = open(marker, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode_t(0o600))
        guard fd >= 0 else {
            throw HistoryError.io(path: marker, message: "could not mark the history as being cleared: \(String(cString: strerror(errno)))")
        }
        fsync(fd)
        close(fd)
        let folder = open(file.deletingLastPathComponent().path, O_RDONLY | O_CLOEXEC)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }

    /// Whether a clear of `file` was started and not finished.
    static func isMarked(_ file: URL) -> Bool {
        var info = stat()
        return lstat(markerURL(of: file).path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    static func unmark(_ file: URL) {
        guard isMarked(file) else { return }
        unlink(markerURL(of: file).path)
    }

    /// The moved-aside damaged copies of `file` (with their -wal/-shm): regular files of this user
    /// whose names start with `<history name>.damaged-`. Links are not listed (not ours to follow).
    static func damagedCopies(of file: URL) -> [URL] {
        let folder = file.deletingLastPathComponent()
        let prefix = file.lastPathComponent + HistoryFiles.damagedInfix
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        return names.filter { $0.hasPrefix(prefix) }.sorted().compactMap { name in
            let url = folder.appendingPathComponent(name)
            var info = stat()
            guard lstat(url.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == geteuid() else { return nil }
            return url
        }
    }
}

extension HistoryStore {
    /// Damaged copies of this history moved aside by `openOrRecover`: they hold learned text
    /// that `clear` does not reach.
    public func damagedCopies() -> [URL] {
        path.map(HistoryClearing.damagedCopies(of:)) ?? []
    }

    /// Deletes the damaged copies; returns how many files went.
    @discardableResult
    public func deleteDamagedCopies() throws -> Int {
        var removed = 0
        for copy in damagedCopies() {
            guard unlink(copy.path) == 0 else {
                throw HistoryError.io(path: copy.path, message: "could not delete a damaged copy: \(String(cString: strerror(errno)))")
            }
            removed += 1
        }
        return removed
    }
}
