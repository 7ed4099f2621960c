#if !canImport(Accelerate)
import Foundation

/// The system's OpenBLAS, loaded when the first matrix product needs it (Linux; Apple systems use
/// Accelerate, linked as usual).
///
/// Loading it at run time rather than linking it means a process that never multiplies matrices
/// (a suggestion: the engine's batch-1 step runs on the fp16 and int8 kernels of CKernels) never starts
/// OpenBLAS: no buffers, and no worker threads spinning on the second core through start-up. It
/// also lets a program read the CPU and set `OPENBLAS_CORETYPE` before OpenBLAS reads it.
package struct BLASLibrary: @unchecked Sendable {  // immutable function pointers into a library never unloaded
    typealias SGEMM = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
                                      UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias DGEMM = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Double, UnsafePointer<Double>?, Int32,
                                      UnsafePointer<Double>?, Int32, Double, UnsafeMutablePointer<Double>?, Int32) -> Void
    typealias SGEMV = @convention(c) (Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
                                      UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias SetThreads = @convention(c) (Int32) -> Void
    typealias Describe = @convention(c) () -> UnsafeMutablePointer<CChar>?

    // CBLAS's enum values (cblas.h).
    static let rowMajor: Int32 = 101, noTranspose: Int32 = 111, transpose: Int32 = 112

    /// The file it came from.
    public let file: String
    let sgemm: SGEMM
    let dgemm: DGEMM
    let sgemv: SGEMV
    let setThreads: SetThreads?
    let corename: Describe?
    let config: Describe?

    /// Names tried in order: OpenBLAS's run-time library (Debian's libopenblas0), then whatever
    /// provides the system's CBLAS.
    static let candidates = ["libopenblas.so.0", "libopenblas.so", "libcblas.so.3", "libblas.so.3"]

    /// The library of this process, loaded on first use.
    static let shared: Result<BLASLibrary, BLASLoadError> = load()

    /// The loaded library, or the reason there is none (to report before any work starts).
    public static func require() throws -> BLASLibrary { try shared.get() }

    /// For the kernels, which cannot throw: their callers checked `require()`, or the process
    /// cannot multiply matrices at all and stops with the reason.
    static var loaded: BLASLibrary {
        switch shared {
        case .success(let library): return library
        case .failure(let error): preconditionFailure(error.localizedDescription)
        }
    }

    static func load() -> Result<BLASLibrary, BLASLoadError> {
        var tried: [String] = []
        for name in candidates {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
                tried.append(name)
                continue
            }
            func symbol<F>(_ symbolName: String, as type: F.Type) -> F? {
                dlsym(handle, symbolName).map { unsafeBitCast($0, to: type) }
            }
            guard let sgemm = symbol("cblas_sgemm", as: SGEMM.self), let dgemm = symbol("cblas_dgemm", as: DGEMM.self),
                  let sgemv = symbol("cblas_sgemv", as: SGEMV.self) else {
                tried.append("\(name) (no cblas_sgemm/cblas_dgemm/cblas_sgemv)")
                continue
            }
            return .success(BLASLibrary(file: name, sgemm: sgemm, dgemm: dgemm, sgemv: sgemv,
                                        setThreads: symbol("openblas_set_num_threads", as: SetThreads.self),
                                        corename: symbol("openblas_get_corename", as: Describe.self),
                                        config: symbol("openblas_get_config", as: Describe.self)))
        }
        return .failure(BLASLoadError(tried: tried))
    }

    /// `openblas_get_config()`, "" for another BLAS.
    var buildDescription: String { config?().map { String(cString: $0) } ?? "" }
    /// `openblas_get_corename()`, "" for another BLAS.
    var kernelName: String { corename?().map { String(cString: $0) } ?? "" }
}

/// No BLAS could be loaded.
package struct BLASLoadError: LocalizedError, Equatable, Sendable {
    public let tried: [String]
    public var errorDescription: String? {
        "no BLAS library could be loaded (tried \(tried.joined(separator: ", "))): install OpenBLAS "
            + "(Debian and Ubuntu: apt-get install libopenblas0)"
    }
}
#endif
