import CCPUInfo
import Foundation

/// The vector features of the processor this runs on (cpuid on x86-64).
public struct CPUFeatures: Sendable, Equatable, Codable {
    /// "GenuineIntel", "AuthenticAMD", … ("" off x86).
    public var vendor: String
    public var family: Int
    public var model: Int
    /// Feature names as Linux's /proc/cpuinfo spells them ("avx2", "avx512f", "neon", …), the ones
    /// the OS lets programs use.
    public var flags: [String]

    public init(vendor: String, family: Int = 0, model: Int = 0, flags: [String]) {
        self.vendor = vendor; self.family = family; self.model = model; self.flags = flags
    }

    public func has(_ flag: String) -> Bool { flags.contains(flag) }

    /// Every AVX-512 part that OpenBLAS's SkylakeX kernels use.
    public var hasAVX512: Bool { ["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"].allSatisfy(has) }
    public var hasAVX2: Bool { has("avx2") && has("fma") }
    public var isAMD: Bool { vendor == "AuthenticAMD" || vendor == "HygonGenuine" }

    /// This processor's.
    public static func current() -> CPUFeatures {
        var info = nw_cpu_info()
        nw_cpu_info_read(&info)
        let vendor = withUnsafeBytes(of: info.vendor) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let ymm = info.os_saves_avx != 0, zmm = info.os_saves_avx512 != 0
        let named: [(String, Bool)] = [
            ("sse3", info.sse3 != 0), ("ssse3", info.ssse3 != 0), ("sse4_2", info.sse4_2 != 0),
            ("avx", info.avx != 0 && ymm), ("avx2", info.avx2 != 0 && ymm), ("fma", info.fma != 0 && ymm),
            ("f16c", info.f16c != 0 && ymm), ("avx_vnni", info.avx_vnni != 0 && ymm),
            ("avx512f", info.avx512f != 0 && zmm), ("avx512dq", info.avx512dq != 0 && zmm),
            ("avx512cd", info.avx512cd != 0 && zmm), ("avx512bw", info.avx512bw != 0 && zmm),
            ("avx512vl", info.avx512vl != 0 && zmm), ("avx512_vnni", info.avx512vnni != 0 && zmm),
            ("avx512_bf16", info.avx512bf16 != 0 && zmm), ("avx512_fp16", info.avx512fp16 != 0 && zmm),
            ("amx_tile", info.amx_tile != 0), ("neon", info.neon != 0),
        ]
        return CPUFeatures(vendor: vendor, family: Int(info.family), model: Int(info.model),
                           flags: named.filter(\.1).map(\.0))
    }
}

/// Which BLAS the products run on.
public struct BLASInfo: Sendable, Equatable, Codable {
    /// "OpenBLAS" or "Accelerate".
    public var library: String
    /// The library's version ("0.3.21"), "" where it does not say.
    public var version: String
    /// The kernel family in use ("Haswell", "SkylakeX", "Prescott", …; "Accelerate" on Apple).
    public var kernel: String
    /// The library's own description of its build.
    public var build: String

    public init(library: String, version: String, kernel: String, build: String) {
        self.library = library; self.version = version; self.kernel = kernel; self.build = build
    }

    /// The BLAS this process loaded.
    public static func current() -> BLASInfo {
        #if canImport(Accelerate)
        return BLASInfo(library: "Accelerate", version: "", kernel: "Accelerate", build: "Apple Accelerate")
        #else
        guard let library = try? BLASLibrary.require() else {
            return BLASInfo(library: "none", version: "", kernel: "", build: "")
        }
        let build = library.buildDescription
        let kernel = library.kernelName
        // "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Prescott MAX_THREADS=64"
        let words = build.split(separator: " ")
        let isOpenBLAS = words.first == "OpenBLAS" || library.corename != nil
        let version = words.count > 1 && words[0] == "OpenBLAS" ? String(words[1]) : ""
        return BLASInfo(library: isOpenBLAS ? "OpenBLAS" : library.file, version: version, kernel: kernel, build: build)
        #endif
    }
}

/// Whether the BLAS runs the kernel this CPU deserves, and what to do when it does not.
///
/// Debian's OpenBLAS 0.3.21 does not recognise some newer processors (Intel family 6 model 207,
/// for one) and falls back to its SSE3 "Prescott" kernels: sgemm then runs 5–8× slower. OpenBLAS
/// reads `OPENBLAS_CORETYPE` once, when it is loaded, so a program can only fix it by starting
/// again with the variable set; the CLI does that (`BLASKernelFix`), the library reports it.
public struct BLASDiagnosis: Sendable, Equatable {
    public enum Advice: Sendable, Equatable {
        /// The kernel in use is as good as this CPU allows (or the BLAS is not OpenBLAS).
        case fine
        /// A generic kernel on a CPU that OpenBLAS serves better: start with OPENBLAS_CORETYPE=name.
        case useCoreType(String)
        /// The user chose the kernel (OPENBLAS_CORETYPE is set); it is weaker than this CPU allows.
        case userChoseWeaker(chosen: String, better: String)
    }

    public let blas: BLASInfo
    public let cpu: CPUFeatures
    public let advice: Advice

    public init(blas: BLASInfo, cpu: CPUFeatures, environment: [String: String]) {
        self.blas = blas
        self.cpu = cpu
        self.advice = Self.advise(blas: blas, cpu: cpu, environment: environment)
    }

    /// The diagnosis of this process.
    public static func current() -> BLASDiagnosis {
        BLASDiagnosis(blas: .current(), cpu: .current(), environment: ProcessInfo.processInfo.environment)
    }

    /// One line for the user when the products run slower than they could, else nil.
    public var warning: String? {
        switch advice {
        case .fine: return nil
        case .useCoreType(let name):
            return "warning: \(blas.library) \(blas.version) runs its generic \(blas.kernel) kernel on this CPU, "
                + "several times slower than it could; start the program with OPENBLAS_CORETYPE=\(name) "
                + "(the nextword command does this itself)"
        case .userChoseWeaker(let chosen, let better):
            return "warning: OPENBLAS_CORETYPE=\(chosen) is slower than this CPU allows; \(better) would be faster"
        }
    }

    /// The decision, from the kernel in use, the CPU's features and the environment alone.
    public static func advise(blas: BLASInfo, cpu: CPUFeatures, environment: [String: String]) -> Advice {
        guard blas.library == "OpenBLAS", let best = bestKernel(for: cpu) else { return .fine }
        // On AMD processors OpenBLAS serves even AVX-512 parts with its AVX2 "Zen" kernels, by design:
        // only a fallback below that is a fault.
        let required = cpu.isAMD ? min(level(ofKernel: best), 3) : level(ofKernel: best)
        guard level(ofKernel: blas.kernel) < required else { return .fine }
        if let chosen = environment["OPENBLAS_CORETYPE"], !chosen.isEmpty {
            return .userChoseWeaker(chosen: chosen, better: best)
        }
        // Set but empty: OpenBLAS then picks by itself; the user's choice still stands.
        if environment["OPENBLAS_CORETYPE"] != nil { return .fine }
        return .useCoreType(best)
    }

    /// The OpenBLAS 0.3.x kernel name for the best vector unit of `cpu`, nil off x86-64.
    static func bestKernel(for cpu: CPUFeatures) -> String? {
        if cpu.hasAVX512 { return cpu.has("avx512_bf16") ? "Cooperlake" : "SkylakeX" }
        if cpu.hasAVX2 { return cpu.isAMD ? "Zen" : "Haswell" }
        if cpu.has("avx") { return "Sandybridge" }
        return nil
    }

    /// How wide a kernel's vectors are: 1 SSE, 2 AVX, 3 AVX2+FMA, 4 AVX-512.
    static func level(ofKernel name: String) -> Int {
        switch name.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return 4
        case "haswell", "zen", "excavator", "steamroller": return 3
        case "sandybridge", "bulldozer", "piledriver": return 2
        default: return 1  // Prescott, Core2, Penryn, Dunnington, Nehalem, Atom, Barcelona, …
        }
    }
}

extension BLASDiagnosis {
    /// A small product checked against a Double reference: whether the kernel in use computes
    /// correctly on this CPU (older OpenBLAS kernels have been wrong on processors they did not know).
    public static func selfCheck() -> Bool {
        let (m, n, k) = (37, 29, 53)
        var generator = SeededGenerator(seed: 11)
        let a = (0 ..< m * k).map { _ in generator.nextFloat(in: -1, 1) }
        let b = (0 ..< k * n).map { _ in generator.nextFloat(in: -1, 1) }
        var c = [Float](repeating: 0, count: m * n)
        // c [m, n] = a [m, k] · b [k, n], row-major
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    Float.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1,
                               a: pa.baseAddress!, b: pb.baseAddress!, beta: 0, c: pc.baseAddress!)
                }
            }
        }
        for i in 0 ..< m {
            for j in 0 ..< n {
                var reference = 0.0
                for p in 0 ..< k { reference += Double(a[i * k + p]) * Double(b[p * n + j]) }
                guard abs(Double(c[i * n + j]) - reference) <= 1e-4 * max(1, abs(reference)) else { return false }
            }
        }
        return true
    }
}
