;; Exact MaxSim of one query against many units (passages), WebAssembly SIMD-128.
;;
;;   out[u] = Σ_i qs_i · max_{j ∈ u} (Σ_d q_i,d · c_j,d) · s_j
;;
;; q: the query as int16 codes with one float scale qs_i per row; c: int8 token codes with one
;; float scale s_j per token (the TokenStore layout). The integer dot products are exact
;; (i32x4.dot_i16x8_s on int8 codes widened to int16); the only approximation is the caller's
;; quantisation of the query, which is why the query is int16 and not int8 (it costs nothing
;; extra here: the tokens are widened to int16 anyway).
;;
;; Overflow: |q| ≤ 32767, |c| ≤ 128, so a dot over dp ≤ 512 dims is ≤ 2 147 418 112 < 2^31.
;; The TypeScript wrapper (maxsim-kernel.ts) rejects larger dims.
;;
;; Memory layout, all prepared by the wrapper (byte addresses, 16-byte aligned):
;;   $q      the query, row pairs interleaved per 8 dims: for pair p, chunk k (8 dims):
;;           [row 2p, dims 8k..8k+7 as i16x8][row 2p+1, same] → 32 bytes; a pair is dp*4 bytes.
;;           Rows are padded to an even count with a zero row whose scale is 0.
;;   $qs     f32 per query row (pairs*2)
;;   $tok    int8 token rows, stride dp (dp = dim rounded up to 16; padding bytes may hold
;;           anything: the query's padding dims are 0)
;;   $ts     f32 per token
;;   $counts i32 tokens per unit; the units' tokens follow each other in $tok
;;   $out    f32 per unit
;;   $work   scratch: [int16 block: blk*dp*2][f32 block scales: blk*4][row maxima: pairs*32]
;;   $blk    tokens widened per block, a multiple of 4
;;
;; Each unit is processed in blocks of ≤ blk tokens. A block is widened to int16 once (so the
;; widening is shared by all query rows) in a layout that interleaves 4 tokens per 8 dims, so the
;; inner loop reads 2 query rows × 4 tokens with constant offsets and holds 8 accumulators
;; (+ 6 operands: fits the 16 xmm registers of x64). A block's tail is padded to 4 tokens by
;; repeating its last token: a repeated token cannot change a maximum, so no masking is needed.
;; Loop order per block: token quad outside, row pairs inside, so one quad (dp*8 bytes) and the
;; whole query (rows*dp*2 bytes, 8 KB for 32×128) stay in L1 while the row maxima are updated.
(module
  (memory (export "memory") 1)

  (func $score (export "score")
    (param $q i32) (param $qs i32) (param $pairs i32) (param $dp i32)
    (param $tok i32) (param $ts i32) (param $counts i32) (param $nu i32)
    (param $out i32) (param $work i32) (param $blk i32)
    (local $wsc i32) (local $rmax i32) (local $quadBytes i32) (local $pairBytes i32)
    (local $u i32) (local $n i32) (local $done i32) (local $b i32) (local $bp i32)
    (local $t i32) (local $src i32) (local $dst i32) (local $e i32) (local $x v128)
    (local $p i32) (local $pq i32) (local $pd i32) (local $pd0 i32) (local $quad i32) (local $pm i32)
    (local $m0 v128) (local $m1 v128) (local $q0 v128) (local $q1 v128)
    (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $sc v128) (local $tot f64) (local $r i32) (local $rows i32)

    (local.set $wsc (i32.add (local.get $work)
      (i32.mul (local.get $blk) (i32.shl (local.get $dp) (i32.const 1)))))
    (local.set $rmax (i32.add (local.get $wsc) (i32.shl (local.get $blk) (i32.const 2))))
    (local.set $quadBytes (i32.shl (local.get $dp) (i32.const 3)))
    (local.set $pairBytes (i32.shl (local.get $dp) (i32.const 2)))
    (local.set $rows (i32.shl (local.get $pairs) (i32.const 1)))

    (block $units_done (loop $units
      (br_if $units_done (i32.ge_u (local.get $u) (local.get $nu)))
      (local.set $n (i32.load (i32.add (local.get $counts) (i32.shl (local.get $u) (i32.const 2)))))

      ;; row maxima = -inf
      (local.set $r (i32.const 0))
      (block $init_done (loop $init
        (br_if $init_done (i32.ge_u (local.get $r) (local.get $rows)))
        (v128.store (i32.add (local.get $rmax) (i32.shl (local.get $r) (i32.const 4)))
          (f32x4.splat (f32.const -inf)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $init)))

      (local.set $done (i32.const 0))
      (block $blocks_done (loop $blocks
        (br_if $blocks_done (i32.ge_u (local.get $done) (local.get $n)))
        ;; b = min(n - done, blk); bp = b rounded up to 4
        (local.set $b (i32.sub (local.get $n) (local.get $done)))
        (if (i32.gt_u (local.get $b) (local.get $blk)) (then (local.set $b (local.get $blk))))
        (local.set $bp (i32.and (i32.add (local.get $b) (i32.const 3)) (i32.const -4)))

        ;; widen tokens [0, bp) of the block (t ≥ b repeats token b-1)
        (local.set $t (i32.const 0))
        (block $widen_done (loop $widen
          (br_if $widen_done (i32.ge_u (local.get $t) (local.get $bp)))
          ;; source token index in the block
          (local.set $e (select (local.get $t) (i32.sub (local.get $b) (i32.const 1))
            (i32.lt_u (local.get $t) (local.get $b))))
          (f32.store (i32.add (local.get $wsc) (i32.shl (local.get $t) (i32.const 2)))
            (f32.load (i32.add (local.get $ts) (i32.shl (local.get $e) (i32.const 2)))))
          (local.set $src (i32.add (local.get $tok) (i32.mul (local.get $e) (local.get $dp))))
          (local.set $e (i32.add (local.get $src) (local.get $dp)))
          (local.set $dst (i32.add (i32.add (local.get $work)
              (i32.mul (i32.shr_u (local.get $t) (i32.const 2)) (local.get $quadBytes)))
            (i32.shl (i32.and (local.get $t) (i32.const 3)) (i32.const 4))))
          (loop $row
            (local.set $x (v128.load (local.get $src)))
            (v128.store (local.get $dst) (i16x8.extend_low_i8x16_s (local.get $x)))
            (v128.store offset=64 (local.get $dst) (i16x8.extend_high_i8x16_s (local.get $x)))
            (local.set $src (i32.add (local.get $src) (i32.const 16)))
            (local.set $dst (i32.add (local.get $dst) (i32.const 128)))
            (br_if $row (i32.lt_u (local.get $src) (local.get $e))))
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br $widen)))

        ;; score: for each token quad, for each query row pair
        (local.set $quad (i32.const 0))
        (local.set $pd0 (local.get $work))
        (block $quads_done (loop $quads
          (br_if $quads_done (i32.ge_u (i32.shl (local.get $quad) (i32.const 2)) (local.get $bp)))
          (local.set $sc (v128.load (i32.add (local.get $wsc) (i32.shl (local.get $quad) (i32.const 4)))))
          (local.set $pq (local.get $q))
          (local.set $pm (local.get $rmax))
          (local.set $p (i32.const 0))
          (block $pairs_done (loop $pairs_l
            (br_if $pairs_done (i32.ge_u (local.get $p) (local.get $pairs)))
            (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
            (local.set $b0 (v128.const i32x4 0 0 0 0)) (local.set $b1 (v128.const i32x4 0 0 0 0))
            (local.set $b2 (v128.const i32x4 0 0 0 0)) (local.set $b3 (v128.const i32x4 0 0 0 0))
            (local.set $pd (local.get $pd0))
            (local.set $e (i32.add (local.get $pd0) (local.get $quadBytes)))
            ;; 16 dims per iteration (dp is a multiple of 16)
            (loop $dims
              (local.set $q0 (v128.load (local.get $pq)))
              (local.set $q1 (v128.load offset=16 (local.get $pq)))
              (local.set $d0 (v128.load (local.get $pd)))
              (local.set $d1 (v128.load offset=16 (local.get $pd)))
              (local.set $d2 (v128.load offset=32 (local.get $pd)))
              (local.set $d3 (v128.load offset=48 (local.get $pd)))
              (local.set $a0 (i32x4.add (local.get $a0) (i32x4.dot_i16x8_s (local.get $q0) (local.get $d0))))
              (local.set $a1 (i32x4.add (local.get $a1) (i32x4.dot_i16x8_s (local.get $q0) (local.get $d1))))
              (local.set $a2 (i32x4.add (local.get $a2) (i32x4.dot_i16x8_s (local.get $q0) (local.get $d2))))
              (local.set $a3 (i32x4.add (local.get $a3) (i32x4.dot_i16x8_s (local.get $q0) (local.get $d3))))
              (local.set $b0 (i32x4.add (local.get $b0) (i32x4.dot_i16x8_s (local.get $q1) (local.get $d0))))
              (local.set $b1 (i32x4.add (local.get $b1) (i32x4.dot_i16x8_s (local.get $q1) (local.get $d1))))
              (local.set $b2 (i32x4.add (local.get $b2) (i32x4.dot_i16x8_s (local.get $q1) (local.get $d2))))
              (local.set $b3 (i32x4.add (local.get $b3) (i32x4.dot_i16x8_s (local.get $q1) (local.get $d3))))
              (local.set $q0 (v128.load offset=32 (local.get $pq)))
              (local.set $q1 (v128.load offset=48 (local.get $pq)))
              (local.set $d0 (v128.load offset=64 (local.get $pd)))
              (local.set $d1 (v128.load offset=80 (local.get $pd)))
              (local.set $d2 (v128.load offset=96 (local.get $pd)))
              (local.set $d3 (v128.load offset=112 (local.get $pd)))
              (local.set $a0 (i32x4.add (local.get $a0) (i32x4.dot_i16x8_s (local.get $q0) (local.get $d0))))
              (local.set $a1 (i32x4.add (local.get $a1) (i32x4.dot_i16x8_s (local.get $q0) (local.get $d1))))
              (local.set $a2 (i32x4.add (local.get $a2) (i32x4.dot_i16x8_s (local.get $q0) (local.get $d2))))
              (local.set $a3 (i32x4.add (local.get $a3) (i32x4.dot_i16x8_s (local.get $q0) (local.get $d3))))
              (local.set $b0 (i32x4.add (local.get $b0) (i32x4.dot_i16x8_s (local.get $q1) (local.get $d0))))
              (local.set $b1 (i32x4.add (local.get $b1) (i32x4.dot_i16x8_s (local.get $q1) (local.get $d1))))
              (local.set $b2 (i32x4.add (local.get $b2) (i32x4.dot_i16x8_s (local.get $q1) (local.get $d2))))
              (local.set $b3 (i32x4.add (local.get $b3) (i32x4.dot_i16x8_s (local.get $q1) (local.get $d3))))
              (local.set $pq (i32.add (local.get $pq) (i32.const 64)))
              (local.set $pd (i32.add (local.get $pd) (i32.const 128)))
              (br_if $dims (i32.lt_u (local.get $pd) (local.get $e))))
            ;; row 2p: [Σa0, Σa1, Σa2, Σa3] by two rounds of interleave-and-add, ·scale, max
            (local.set $a0 (i32x4.add
              (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a0) (local.get $a1))
              (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1))))
            (local.set $a2 (i32x4.add
              (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a2) (local.get $a3))
              (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3))))
            (local.set $a0 (i32x4.add
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $a0) (local.get $a2))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $a0) (local.get $a2))))
            (v128.store (local.get $pm) (f32x4.pmax (v128.load (local.get $pm))
              (f32x4.mul (f32x4.convert_i32x4_s (local.get $a0)) (local.get $sc))))
            ;; row 2p+1
            (local.set $b0 (i32x4.add
              (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $b0) (local.get $b1))
              (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $b0) (local.get $b1))))
            (local.set $b2 (i32x4.add
              (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $b2) (local.get $b3))
              (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $b2) (local.get $b3))))
            (local.set $b0 (i32x4.add
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $b0) (local.get $b2))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $b0) (local.get $b2))))
            (v128.store offset=16 (local.get $pm) (f32x4.pmax (v128.load offset=16 (local.get $pm))
              (f32x4.mul (f32x4.convert_i32x4_s (local.get $b0)) (local.get $sc))))
            (local.set $pm (i32.add (local.get $pm) (i32.const 32)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $pairs_l)))
          (local.set $pd0 (i32.add (local.get $pd0) (local.get $quadBytes)))
          (local.set $quad (i32.add (local.get $quad) (i32.const 1)))
          (br $quads)))

        (local.set $tok (i32.add (local.get $tok) (i32.mul (local.get $b) (local.get $dp))))
        (local.set $ts (i32.add (local.get $ts) (i32.shl (local.get $b) (i32.const 2))))
        (local.set $done (i32.add (local.get $done) (local.get $b)))
        (br $blocks)))

      ;; out[u] = Σ_i qs_i · max(lanes of row i's maxima); a unit without tokens scores 0
      (local.set $tot (f64.const 0))
      (if (i32.gt_u (local.get $n) (i32.const 0)) (then
        (local.set $r (i32.const 0))
        (block $sum_done (loop $sum
          (br_if $sum_done (i32.ge_u (local.get $r) (local.get $rows)))
          (local.set $x (v128.load (i32.add (local.get $rmax) (i32.shl (local.get $r) (i32.const 4)))))
          (local.set $tot (f64.add (local.get $tot) (f64.mul
            (f64.promote_f32 (f32.max
              (f32.max (f32x4.extract_lane 0 (local.get $x)) (f32x4.extract_lane 1 (local.get $x)))
              (f32.max (f32x4.extract_lane 2 (local.get $x)) (f32x4.extract_lane 3 (local.get $x)))))
            (f64.promote_f32 (f32.load (i32.add (local.get $qs) (i32.shl (local.get $r) (i32.const 2))))))))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br $sum)))))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $u) (i32.const 2)))
        (f32.demote_f64 (local.get $tot)))
      (local.set $u (i32.add (local.get $u) (i32.const 1)))
      (br $units)))
  )
)
