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
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1

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
