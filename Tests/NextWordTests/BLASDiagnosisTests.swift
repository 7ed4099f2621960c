import XCTest
@testable import NextWord

/// The kernel decision from a kernel name, CPU features and environment alone (no restart).
final class BLASDiagnosisTests: XCTestCase {
    private let xeonFlags = ["sse3", "ssse3", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq",
                             "avx512cd", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16"]
    private func blas(_ kernel: String, library: String = "OpenBLAS") -> BLASInfo {
        BLASInfo(library: library, version: "0.3.21", kernel: kernel, build: "OpenBLAS 0.3.21 DYNAMIC_ARCH \(kernel)")
    }
    private var xeon: CPUFeatures { CPUFeatures(vendor: "GenuineIntel", family: 6, model: 207, flags: xeonFlags) }

    func testGenericKernelOnAnAVX512XeonAsksForCooperlake() {
        let advice = BLASDiagnosis.advise(blas: blas("Prescott"), cpu: xeon, environment: [:])
        XCTAssertEqual(advice, .useCoreType("Cooperlake"))
        XCTAssertNotNil(BLASDiagnosis(blas: blas("Prescott"), cpu: xeon, environment: [:]).warning)
    }

    func testAVX512WithoutBF16AsksForSkylakeX() {
        let cpu = CPUFeatures(vendor: "GenuineIntel", family: 6, model: 85, flags: xeonFlags.filter { $0 != "avx512_bf16" })
        XCTAssertEqual(BLASDiagnosis.advise(blas: blas("Haswell"), cpu: cpu, environment: [:]), .useCoreType("SkylakeX"))
    }

    func testAVX2OnlyAsksForHaswellOnIntelAndZenOnAMD() {
        let flags = ["sse3", "avx", "avx2", "fma", "f16c"]
        let intel = CPUFeatures(vendor: "GenuineIntel", flags: flags), amd = CPUFeatures(vendor: "AuthenticAMD", flags: flags)
        XCTAssertEqual(BLASDiagnosis.advise(blas: blas("Prescott"), cpu: intel, environment: [:]), .useCoreType("Haswell"))
        XCTAssertEqual(BLASDiagnosis.advise(blas: blas("Nehalem"), cpu: amd, environment: [:]), .useCoreType("Zen"))
    }

    func testAMDsOwnZenKernelIsFineEvenWithAVX512() {
        let zen5 = CPUFeatures(vendor: "AuthenticAMD", family: 26, model: 2, flags: xeonFlags)
        XCTAssertEqual(BLASDiagnosis.advise(blas: blas("Zen"), cpu: zen5, environment: [:]), .fine)
        XCTAssertEqual(BLASDiagnosis.advise(blas: blas("Prescott"), cpu: zen5, environment: [:]), .useCoreType("Cooperlake"))
    }

    func testTheRightKernelIsFine() {
        XCTAssertEqual(BLASDiagnosis.advise(blas: blas("Cooperlake"), cpu: xeon, environment: [:]), .fine)
        XCTAssertEqual(BLASDiagnosis.advise(blas: blas("SkylakeX"), cpu: xeon, environment: [:]), .fine)
        XCTAssertNil(BLASDiagnosis(blas: blas("SkylakeX"), cpu: xeon, environment: [:]).warning)
    }

    func testAUsersChoiceIsNeverOverriddenOnlyWarnedAbout() {
        XCTAssertEqual(BLASDiagnosis.advise(blas: blas("Prescott"), cpu: xeon, environment: ["OPENBLAS_CORETYPE": "Prescott"]),
                       .userChoseWeaker(chosen: "Prescott", better: "Cooperlake"))
        // Set but empty: OpenBLAS chooses by itself, and the variable is still the user's.
        XCTAssertEqual(BLASDiagnosis.advise(blas: blas("Prescott"), cpu: xeon, environment: ["OPENBLAS_CORETYPE": ""]), .fine)
    }

    func testOtherLibrariesAndOtherProcessorsAreLeftAlone() {
        XCTAssertEqual(BLASDiagnosis.advise(blas: blas("Accelerate", library: "Accelerate"), cpu: xeon, environment: [:]), .fine)
        let arm = CPUFeatures(vendor: "", flags: ["neon"])
        XCTAssertEqual(BLASDiagnosis.advise(blas: blas("ARMV8"), cpu: arm, environment: [:]), .fine)
    }

    func testThisProcessorIsReadAndTheBLASComputesCorrectly() {
        let cpu = CPUFeatures.current()
        #if arch(x86_64)
        XCTAssertFalse(cpu.vendor.isEmpty)
        XCTAssertTrue(cpu.has("sse3"))
        #endif
        XCTAssertTrue(BLASDiagnosis.selfCheck())
        let info = BLASInfo.current()
        XCTAssertFalse(info.library.isEmpty)
        XCTAssertNotEqual(info.library, "none")
    }
}

/// What the CLI does at start, from the environment and a diagnosis (no process is restarted).
final class BLASKernelRestartTests: XCTestCase {
    private let xeon = CPUFeatures(vendor: "GenuineIntel", family: 6, model: 207,
                                   flags: ["avx", "avx2", "fma", "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"])
    private func diagnosis(_ kernel: String, _ environment: [String: String]) -> BLASDiagnosis {
        BLASDiagnosis(blas: BLASInfo(library: "OpenBLAS", version: "0.3.21", kernel: kernel, build: ""), cpu: xeon,
                      environment: environment)
    }

    func testAGenericKernelRestartsOnceWithTheVariableMarkedAsOurs() {
        let step = BLASKernelRestart.decide(environment: [:], diagnosis: { diagnosis("Prescott", [:]) }, selfCheck: { true })
        XCTAssertEqual(step, .restart(set: ["OPENBLAS_CORETYPE": "SkylakeX", BLASKernelRestart.marker: "SkylakeX"], unset: []))
    }

    func testTheRestartedProcessChecksAndProceeds() {
        let environment = ["OPENBLAS_CORETYPE": "SkylakeX", BLASKernelRestart.marker: "SkylakeX"]
        let step = BLASKernelRestart.decide(environment: environment, diagnosis: { diagnosis("SkylakeX", environment) },
                                            selfCheck: { true })
        XCTAssertEqual(step, .proceed(warning: nil))
    }

    func testAFailedSelfCheckGoesBackToOpenBLASsChoiceWithAWarning() {
        let environment = ["OPENBLAS_CORETYPE": "SkylakeX", BLASKernelRestart.marker: "SkylakeX"]
        let step = BLASKernelRestart.decide(environment: environment, diagnosis: { diagnosis("SkylakeX", environment) },
                                            selfCheck: { false })
        XCTAssertEqual(step, .restart(set: [BLASKernelRestart.marker: "declined:SkylakeX"], unset: ["OPENBLAS_CORETYPE"]))
        guard case .proceed(let warning?) = BLASKernelRestart.decide(
            environment: [BLASKernelRestart.marker: "declined:SkylakeX"], diagnosis: { diagnosis("Prescott", [:]) },
            selfCheck: { true }) else { return XCTFail("expected a warning and no second restart") }
        XCTAssertTrue(warning.contains("SkylakeX"))
    }

    func testAKernelThatDidNotLoadCountsAsAFailedCheck() {
        let environment = ["OPENBLAS_CORETYPE": "SkylakeX", BLASKernelRestart.marker: "SkylakeX"]
        let step = BLASKernelRestart.decide(environment: environment, diagnosis: { diagnosis("Prescott", environment) },
                                            selfCheck: { true })
        XCTAssertEqual(step, .restart(set: [BLASKernelRestart.marker: "declined:SkylakeX"], unset: ["OPENBLAS_CORETYPE"]))
    }

    func testTheUsersVariableIsNeverTouched() {
        let environment = ["OPENBLAS_CORETYPE": "Prescott"]
        guard case .proceed(let warning?) = BLASKernelRestart.decide(
            environment: environment, diagnosis: { diagnosis("Prescott", environment) }, selfCheck: { true })
        else { return XCTFail("a user's choice must not restart") }
        XCTAssertTrue(warning.contains("OPENBLAS_CORETYPE=Prescott"))
    }

    func testChildrenStartWithoutOurVariablesButKeepTheUsers() {
        let ours = BLASKernelRestart.environmentForFreshStart(["OPENBLAS_CORETYPE": "SkylakeX", BLASKernelRestart.marker: "SkylakeX", "HOME": "/h"])
        XCTAssertEqual(ours, ["HOME": "/h"])
        let users = BLASKernelRestart.environmentForFreshStart(["OPENBLAS_CORETYPE": "Haswell"])
        XCTAssertEqual(users, ["OPENBLAS_CORETYPE": "Haswell"])
        XCTAssertEqual(BLASKernelRestart.kernelChooser(["OPENBLAS_CORETYPE": "SkylakeX", BLASKernelRestart.marker: "SkylakeX"]), "nextword")
        XCTAssertEqual(BLASKernelRestart.kernelChooser(["OPENBLAS_CORETYPE": "Haswell"]), "user")
        XCTAssertEqual(BLASKernelRestart.kernelChooser([:]), "openblas")
    }

    func testIdleThreadsSleepAtOnceUnlessTheUserSetTheirTimeout() {
        let set = BLASKernelRestart.threadTimeoutVariables(environment: ["HOME": "/h"])
        XCTAssertEqual(set, ["OPENBLAS_THREAD_TIMEOUT": "4", BLASKernelRestart.threadTimeoutMarker: "4"])
        XCTAssertEqual(BLASKernelRestart.threadTimeoutVariables(environment: ["OPENBLAS_THREAD_TIMEOUT": "28"]), [:])
        // After a restart the variable is ours already: nothing more to set.
        XCTAssertEqual(BLASKernelRestart.threadTimeoutVariables(environment: set), [:])
        // A child starts as the user would: ours removed, the user's kept, even beside our marker.
        XCTAssertEqual(BLASKernelRestart.environmentForFreshStart(set.merging(["HOME": "/h"]) { a, _ in a }), ["HOME": "/h"])
        XCTAssertEqual(BLASKernelRestart.environmentForFreshStart(["OPENBLAS_THREAD_TIMEOUT": "10", BLASKernelRestart.threadTimeoutMarker: "4"]),
                       ["OPENBLAS_THREAD_TIMEOUT": "10"])
    }
}
