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
        try path.map(Self.deleteDamagedCopies(of:)) ?? 0
    }

    /// The same for the history at `path`, without opening it (after its files were deleted).
    @discardableResult
    public static func deleteDamagedCopies(of path: URL) throws -> Int {
        var removed = 0
        for copy in damagedCopies(of: path) {
            guard unlink(copy.path) == 0 else {
                throw HistoryError.io(path: copy.path, message: "could not delete a damaged copy: \(String(cString: strerror(errno)))")
            }
            removed += 1
        }
        return removed
    }
}

extension HistoryStore {
    /// How `clearFiles(at:)` erased the history.
    public enum ClearOutcome: Sendable, Equatable {
        /// Rows deleted, journal checkpointed, file vacuumed: the same file, empty.
        case inPlace
        /// The disk was too full to rewrite the file, so the history's files were deleted
        /// (`freedBytes` of them); a new history starts at the next use.
        case deletedFiles(freedBytes: Int64)
    }

    /// Clears the history at `path` as `history clear` does: in place when it can, and when the
    /// disk is too full for that (neither the transaction nor VACUUM can write, and free space is
    /// under the file's size), by deleting the history's own files — only a recognisably NextWord
    /// history (its application id), regular files of this user, never a link. A process that has
    /// the history open keeps writing to the deleted file until it opens it again.
    public static func clearFiles(at path: URL) throws -> ClearOutcome {
        try clearFiles(at: path, freeSpace: HistoryClearing.freeSpace(at:))
    }

    static func clearInPlace(at path: URL) throws {
        let (store, _) = try openOrRecover(path: path)
        try store.clear()
        try? store.close()
    }

    /// The damaged copies moved aside beside the history at `path` (see `damagedCopies()`), found
    /// without opening it.
    public static func damagedCopies(of path: URL) -> [URL] { HistoryClearing.damagedCopies(of: path) }

    /// `clearFiles(at:)` with `freeSpace` telling the bytes free on the file's file system (a test
    /// pretends the disk is full).
    /// `clearInPlace` is the ordinary clear (a test makes it fail as a full disk does).
    static func clearFiles(at path: URL, freeSpace: (URL) -> Int64?,
                           clearInPlace: (URL) throws -> Void = HistoryStore.clearInPlace(at:)) throws -> ClearOutcome {
        do {
            try clearInPlace(path)
            return .inPlace
        } catch {
            let size = HistoryFiles.sizeOnDisk(path)
            guard let free = freeSpace(path), free < max(size, 1 << 20), HistoryFiles.isOurHistory(path) else { throw error }
            return .deletedFiles(freedBytes: try HistoryClearing.deleteFiles(of: path))
        }
    }
}

extension HistoryClearing {
    /// Bytes available to this user on the file system holding `file` (nil when it cannot tell).
    static func freeSpace(at file: URL) -> Int64? {
        var info = statvfs()
        guard statvfs(file.deletingLastPathComponent().path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// Deletes the history file, its -wal and -shm and the clearing marker: regular files of this
    /// user only (if one of them is a link or another user's file, nothing is deleted and the
    /// error names it). Returns the bytes the files held.
    static func deleteFiles(of file: URL) throws -> Int64 {
        var found: [(path: String, size: Int64)] = []
        for path in [file.path] + HistoryFiles.companionSuffixes.map({ file.path + $0 }) + [markerURL(of: file).path] {
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            guard (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == geteuid() else {
                throw HistoryError.io(path: path, message: "is not a regular file of this user; left as it is, and the history not erased")
            }
            found.append((path, Int64(info.st_size)))
        }
        var freed: Int64 = 0
        for (path, size) in found {
            guard unlink(path) == 0 else {
                throw HistoryError.io(path: path, message: "could not be deleted: \(String(cString: strerror(errno)))")
            }
            freed += size
        }
        return freed
    }
}
