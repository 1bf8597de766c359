#include "textflag.h"

// Two SHA-256 compressions at once with the SHA extensions: the rounds of
// one message wait on the latency of SHA256RNDS2, so a second, independent
// message fills the gaps. Registers: X0 the message words plus the round
// constants (SHA256RNDS2's implicit operand); lane A's state in X1 (words
// A, B, E, F) and X2 (C, D, G, H) and its message schedule in X3-X6; lane
// B's in X7, X8 and X9-X12; X13 a temporary; X14 the byte-swap mask.

// LOADSTATE loads the eight state words at R (a..h) as ABEF into S0 and
// CDGH into S1.
#define LOADSTATE(R, S0, S1) \
	MOVOU 0(R), S0; MOVOU 16(R), S1; \
	PSHUFD $0xB1, S0, S0; PSHUFD $0x1B, S1, S1; MOVO S0, X13; \
	PALIGNR $8, S1, S0; PBLENDW $0xF0, X13, S1

// STORESTATE stores ABEF in S0 and CDGH in S1 at R as the words a..h.
#define STORESTATE(R, S0, S1) \
	PSHUFD $0x1B, S0, S0; PSHUFD $0xB1, S1, S1; MOVO S0, X13; \
	PBLENDW $0xF0, S1, S0; PALIGNR $8, X13, S1; \
	MOVOU S0, 0(R); MOVOU S1, 16(R)

// LOAD reads four message words at off(P), big-endian, into M.
#define LOAD(P, off, M) \
	MOVOU off(P), M; PSHUFB X14, M

// SCHED computes the next four message words into M0 from the last
// sixteen, M0 (oldest) to M3.
#define SCHED(M0, M1, M2, M3) \
	SHA256MSG1 M1, M0; MOVO M3, X13; PALIGNR $4, M2, X13; PADDD X13, M0; SHA256MSG2 M3, M0

// ROUNDS4 runs four rounds on the state S0 (ABEF), S1 (CDGH) with the
// message words M and the constants at koff(AX).
#define ROUNDS4(koff, M, S0, S1) \
	MOVOU koff(AX), X0; PADDD M, X0; \
	SHA256RNDS2 X0, S0, S1; PSHUFD $0x0E, X0, X0; SHA256RNDS2 X0, S1, S0

// GROUP is four rounds of both lanes, with lane A's message words in MA
// and lane B's in MB.
#define GROUP(koff, MA, MB) \
	ROUNDS4(koff, MA, X1, X2); ROUNDS4(koff, MB, X7, X8)

// SGROUP computes the next message words of both lanes, then runs GROUP.
#define SGROUP(koff, A0, A1, A2, A3, B0, B1, B2, B3) \
	SCHED(A0, A1, A2, A3); SCHED(B0, B1, B2, B3); GROUP(koff, A0, B0)

// func blocks2(k *[64]uint32, sa, sb *[8]uint32, pa, pb *byte, n int)
TEXT ·blocks2(SB), NOSPLIT, $64-48
	MOVQ k+0(FP), AX
	MOVQ sa+8(FP), R8
	MOVQ sb+16(FP), R9
	MOVQ pa+24(FP), SI
	MOVQ pb+32(FP), DI
	MOVQ n+40(FP), CX
	MOVQ $0x0405060700010203, DX
	MOVQ DX, X14
	MOVQ $0x0c0d0e0f08090a0b, DX
	PINSRQ $1, DX, X14
	LOADSTATE(R8, X1, X2)
	LOADSTATE(R9, X7, X8)
	TESTQ CX, CX
	JZ done

loop:
	MOVOU X1, 0(SP)
	MOVOU X2, 16(SP)
	MOVOU X7, 32(SP)
	MOVOU X8, 48(SP)

	LOAD(SI, 0, X3)
	LOAD(DI, 0, X9)
	GROUP(0, X3, X9)
	LOAD(SI, 16, X4)
	LOAD(DI, 16, X10)
	GROUP(16, X4, X10)
	LOAD(SI, 32, X5)
	LOAD(DI, 32, X11)
	GROUP(32, X5, X11)
	LOAD(SI, 48, X6)
	LOAD(DI, 48, X12)
	GROUP(48, X6, X12)

	SGROUP(64, X3, X4, X5, X6, X9, X10, X11, X12)
	SGROUP(80, X4, X5, X6, X3, X10, X11, X12, X9)
	SGROUP(96, X5, X6, X3, X4, X11, X12, X9, X10)
	SGROUP(112, X6, X3, X4, X5, X12, X9, X10, X11)
	SGROUP(128, X3, X4, X5, X6, X9, X10, X11, X12)
	SGROUP(144, X4, X5, X6, X3, X10, X11, X12, X9)
	SGROUP(160, X5, X6, X3, X4, X11, X12, X9, X10)
	SGROUP(176, X6, X3, X4, X5, X12, X9, X10, X11)
	SGROUP(192, X3, X4, X5, X6, X9, X10, X11, X12)
	SGROUP(208, X4, X5, X6, X3, X10, X11, X12, X9)
	SGROUP(224, X5, X6, X3, X4, X11, X12, X9, X10)
	SGROUP(240, X6, X3, X4, X5, X12, X9, X10, X11)

	MOVOU 0(SP), X13
	PADDD X13, X1
	MOVOU 16(SP), X13
	PADDD X13, X2
	MOVOU 32(SP), X13
	PADDD X13, X7
	MOVOU 48(SP), X13
	PADDD X13, X8
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop

done:
	STORESTATE(R8, X1, X2)
	STORESTATE(R9, X7, X8)
	RET

// func cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET
