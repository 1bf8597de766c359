#include "textflag.h"

// func classifyBlocksAVX2(p *byte, blocks int, quotes, dirty *uint64)
//
// For each 64-byte block at p: quotes[k] gets a bit per byte equal to '"';
// dirty[k] a bit per byte below 0x20, at or above 0x80, or equal to '\\'.
TEXT ·classifyBlocksAVX2(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), SI
	MOVQ blocks+8(FP), CX
	MOVQ quotes+16(FP), DI
	MOVQ dirty+24(FP), DX
	TESTQ CX, CX
	JZ   done
	MOVQ $0x22, AX
	MOVQ AX, X10
	VPBROADCASTB X10, Y10 // '"'
	MOVQ $0x5c, AX
	MOVQ AX, X11
	VPBROADCASTB X11, Y11 // '\\'
	MOVQ $0x1f, AX
	MOVQ AX, X12
	VPBROADCASTB X12, Y12 // 0x1f

loop:
	// The bytes two KiB ahead, so that the first touch of a mapped file's
	// next page is under way before the loop reaches it (the hardware
	// prefetcher stops at page boundaries).
	PREFETCHT0 2048(SI)
	VMOVDQU    (SI), Y0
	VMOVDQU    32(SI), Y1

	VPCMPEQB  Y10, Y0, Y2
	VPCMPEQB  Y10, Y1, Y3
	VPMOVMSKB Y2, AX
	VPMOVMSKB Y3, BX
	SHLQ $32, BX
	ORQ  BX, AX
	MOVQ AX, (DI)

	// clean = (x > 0x1f, signed: 0x20..0x7f) and not '\\'
	VPCMPGTB  Y12, Y0, Y4
	VPCMPGTB  Y12, Y1, Y5
	VPCMPEQB  Y11, Y0, Y6
	VPCMPEQB  Y11, Y1, Y7
	VPANDN    Y4, Y6, Y4
	VPANDN    Y5, Y7, Y5
	VPMOVMSKB Y4, AX
	VPMOVMSKB Y5, BX
	SHLQ $32, BX
	ORQ  BX, AX
	NOTQ AX
	MOVQ AX, (DX)

	ADDQ $64, SI
	ADDQ $8, DI
	ADDQ $8, DX
	DECQ CX
	JNZ  loop
	VZEROUPPER

done:
	RET

DATA hexDigits<>+0(SB)/8, $0x3736353433323130 // "01234567"
DATA hexDigits<>+8(SB)/8, $0x6665646362613938 // "89abcdef"
GLOBL hexDigits<>(SB), RODATA|NOPTR, $16
DATA lowNibbles<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA lowNibbles<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL lowNibbles<>(SB), RODATA|NOPTR, $16

// HEXHALF compares the hex of the 16 bytes at off(SI) with the 32 bytes at
// 2*off(DI), and-ing the per-byte result into X8; X7 holds the hex digits
// and X6 the low-nibble mask.
#define HEXHALF(off, hoff, hoff2) \
	MOVOU     off(SI), X0 \
	MOVO      X0, X1 \
	PSRLW     $4, X1 \
	PAND      X6, X1 \
	PAND      X6, X0 \
	MOVO      X7, X2 \
	PSHUFB    X1, X2 \
	MOVO      X7, X3 \
	PSHUFB    X0, X3 \
	MOVO      X2, X4 \
	PUNPCKLBW X3, X4 \
	PUNPCKHBW X3, X2 \
	MOVOU     hoff(DI), X5 \
	PCMPEQB   X5, X4 \
	MOVOU     hoff2(DI), X5 \
	PCMPEQB   X5, X2 \
	PAND      X4, X8 \
	PAND      X2, X8

// func hexEqualSSE(d *Digest, h *byte) bool
//
// Reports whether the 64 bytes at h are the lowercase hex of the 32 bytes
// at d: each half of d is split into nibbles, looked up in "0123456789abcdef"
// (PSHUFB), interleaved high nibble first and compared.
TEXT ·hexEqualSSE(SB), NOSPLIT, $0-17
	MOVQ    d+0(FP), SI
	MOVQ    h+8(FP), DI
	MOVOU   hexDigits<>(SB), X7
	MOVOU   lowNibbles<>(SB), X6
	PCMPEQB X8, X8 // all ones: the running result
	HEXHALF(0, 0, 16)
	HEXHALF(16, 32, 48)
	PMOVMSKB X8, AX
	CMPL     AX, $0xffff
	SETEQ    ret+16(FP)
	RET

// func xgetbv0() uint32
//
// The low 32 bits of extended control register 0 (XCR0).
TEXT ·xgetbv0(SB), NOSPLIT, $0-4
	XORL CX, CX
	XGETBV
	MOVL AX, ret+0(FP)
	RET
