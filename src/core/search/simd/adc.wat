;; MaxSim over residual-compressed token vectors without decompressing them, WebAssembly SIMD-128.
;; Query rows are fixed at 32 (the encoder's query length; fewer rows are padded with zeros by the
;; wrapper, adc-kernel.ts), held as 8 f32x4 lanes groups, so every per-row quantity is 8 vectors.
;;
;; A stored vector is v = c + len · r (centroid c, residual length len, residual r decoded from
;; R code bytes by table lookups, all in the codec's rotated coordinates), renormalised:
;;
;;   q_i · v / ‖v‖ = (S[c, i] + len · Σ_g T[g, code_g, i]) / ‖v‖
;;   ‖v‖² = ‖c‖² + 2 len (c · r) + len² ‖r‖²,   c · r = cu[c] + Σ_g tab4[g, code_g] · cg[c, g],
;;   ‖r‖² = rsq0 + Σ_g ‖tab4[g, code_g]‖²
;;
;; where, per query, S[c, ·] = q · c (32 floats a centroid) and T[g, b, ·] = q · (what byte value b
;; at position g decodes to) (32 floats per byte position and value; the coordinates without codes
;; are folded into g = 0); and per codec, tab4[g, b] = the ≤ 4 coordinates byte b at g decodes to,
;; cg[c, g] = the same ≤ 4 coordinates of centroid c, cu[c] = c · (the constant uncoded part),
;; rsq0 = ‖the constant uncoded part‖². So a token costs R table rows of 32 floats instead of
;; decoding 128 dims and a 32 × 128 dot product: the products moved into the per-query tables.
;; The length terms (c · r, ‖r‖²) are summed lane-wise in the same pass over the code bytes as
;; the rows of T (~8 % less per token than ‖r‖² from a scalar table; one pass instead of two
;; over the 37 bytes: about 10 % less per token, within this machine's run-to-run noise).
;;
;; Memory (byte addresses prepared by the wrapper, 16-byte aligned):
;;   $sT    S, centroid-major: K × 32 f32 (128 bytes a centroid)
;;   $T     R × 256 × 32 f32 (128 bytes per byte position and value)
;;   $tab4  R × 256 × 4 f32;   $cg K × R × 4 f32;   $cext K × [cu, ‖c‖²] f32
;;   $lens  256 f32: the residual length each length byte stands for
;;   per batch of units: $cids u16, $norms u8, $codes R bytes, a token after another, unit after
;;   unit; $counts i32 tokens per unit
;;   $out   32 f32 per unit: the unit's maximum per query row (-inf for a unit without tokens)
;;   $tokmax f32 per token: max over the rows whose $mask lane is 0 (-inf lanes are left out)
(module
  (memory (export "memory") 1)

  ;; Centroid interaction: out[u, i] = max over the unit's tokens of S[cid_j, i].
  (func (export "interact")
    (param $sT i32) (param $cids i32) (param $counts i32) (param $nu i32) (param $out i32)
    (local $u i32) (local $end i32) (local $s i32) (local $o i32) (local $ninf v128)
    (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
    (local $m4 v128) (local $m5 v128) (local $m6 v128) (local $m7 v128)
    (local.set $ninf (f32x4.splat (f32.const -inf)))
    (block $done (loop $units
      (br_if $done (i32.ge_u (local.get $u) (local.get $nu)))
      (local.set $end (i32.add (local.get $cids)
        (i32.shl (i32.load (i32.add (local.get $counts) (i32.shl (local.get $u) (i32.const 2)))) (i32.const 1))))
      (local.set $m0 (local.get $ninf)) (local.set $m1 (local.get $ninf))
      (local.set $m2 (local.get $ninf)) (local.set $m3 (local.get $ninf))
      (local.set $m4 (local.get $ninf)) (local.set $m5 (local.get $ninf))
      (local.set $m6 (local.get $ninf)) (local.set $m7 (local.get $ninf))
      (block $tdone (loop $toks
        (br_if $tdone (i32.ge_u (local.get $cids) (local.get $end)))
        (local.set $s (i32.add (local.get $sT) (i32.shl (i32.load16_u (local.get $cids)) (i32.const 7))))
        (local.set $m0 (f32x4.max (local.get $m0) (v128.load offset=0 (local.get $s))))
        (local.set $m1 (f32x4.max (local.get $m1) (v128.load offset=16 (local.get $s))))
        (local.set $m2 (f32x4.max (local.get $m2) (v128.load offset=32 (local.get $s))))
        (local.set $m3 (f32x4.max (local.get $m3) (v128.load offset=48 (local.get $s))))
        (local.set $m4 (f32x4.max (local.get $m4) (v128.load offset=64 (local.get $s))))
        (local.set $m5 (f32x4.max (local.get $m5) (v128.load offset=80 (local.get $s))))
        (local.set $m6 (f32x4.max (local.get $m6) (v128.load offset=96 (local.get $s))))
        (local.set $m7 (f32x4.max (local.get $m7) (v128.load offset=112 (local.get $s))))
        (local.set $cids (i32.add (local.get $cids) (i32.const 2)))
        (br $toks)))
      (local.set $o (i32.add (local.get $out) (i32.shl (local.get $u) (i32.const 7))))
      (v128.store offset=0 (local.get $o) (local.get $m0))
      (v128.store offset=16 (local.get $o) (local.get $m1))
      (v128.store offset=32 (local.get $o) (local.get $m2))
      (v128.store offset=48 (local.get $o) (local.get $m3))
      (v128.store offset=64 (local.get $o) (local.get $m4))
      (v128.store offset=80 (local.get $o) (local.get $m5))
      (v128.store offset=96 (local.get $o) (local.get $m6))
      (v128.store offset=112 (local.get $o) (local.get $m7))
      (local.set $u (i32.add (local.get $u) (i32.const 1)))
      (br $units)))
  )

  ;; Each query row's n best centroids by S (K × 32, centroid-major), best first, lowest centroid
  ;; on ties: out[i · n + p] (i32), their values kept[i · n + p] (f32, -inf-filled by the caller),
  ;; and floor[i] (32 f32) each row's n-th best so far (-inf; +inf for a row not to rank). A
  ;; centroid is compared with the 32 floors in 8 vector compares, and only one that beats some
  ;; floor goes through the scalar insertion: a JavaScript pass took ~1.5–2 ms a query at 8192.
  (func (export "top")
    (param $sT i32) (param $K i32) (param $n i32) (param $out i32) (param $kept i32) (param $floor i32)
    (local $c i32) (local $s i32) (local $i i32) (local $o i32) (local $p i32) (local $v f32)
    (local $f0 v128) (local $f1 v128) (local $f2 v128) (local $f3 v128)
    (local $f4 v128) (local $f5 v128) (local $f6 v128) (local $f7 v128)
    (local.set $f0 (v128.load offset=0 (local.get $floor))) (local.set $f1 (v128.load offset=16 (local.get $floor)))
    (local.set $f2 (v128.load offset=32 (local.get $floor))) (local.set $f3 (v128.load offset=48 (local.get $floor)))
    (local.set $f4 (v128.load offset=64 (local.get $floor))) (local.set $f5 (v128.load offset=80 (local.get $floor)))
    (local.set $f6 (v128.load offset=96 (local.get $floor))) (local.set $f7 (v128.load offset=112 (local.get $floor)))
    (block $done (loop $cs
      (br_if $done (i32.ge_u (local.get $c) (local.get $K)))
      (local.set $s (i32.add (local.get $sT) (i32.shl (local.get $c) (i32.const 7))))
      (if (v128.any_true (v128.or
            (v128.or (v128.or (f32x4.gt (v128.load offset=0 (local.get $s)) (local.get $f0))
                              (f32x4.gt (v128.load offset=16 (local.get $s)) (local.get $f1)))
                     (v128.or (f32x4.gt (v128.load offset=32 (local.get $s)) (local.get $f2))
                              (f32x4.gt (v128.load offset=48 (local.get $s)) (local.get $f3))))
            (v128.or (v128.or (f32x4.gt (v128.load offset=64 (local.get $s)) (local.get $f4))
                              (f32x4.gt (v128.load offset=80 (local.get $s)) (local.get $f5)))
                     (v128.or (f32x4.gt (v128.load offset=96 (local.get $s)) (local.get $f6))
                              (f32x4.gt (v128.load offset=112 (local.get $s)) (local.get $f7))))))
        (then
          (local.set $i (i32.const 0))
          (block $idone (loop $is
            (br_if $idone (i32.ge_u (local.get $i) (i32.const 32)))
            (local.set $v (f32.load (i32.add (local.get $s) (i32.shl (local.get $i) (i32.const 2)))))
            (if (f32.gt (local.get $v) (f32.load (i32.add (local.get $floor) (i32.shl (local.get $i) (i32.const 2)))))
              (then
                (local.set $o (i32.mul (local.get $i) (local.get $n)))
                (local.set $p (i32.sub (local.get $n) (i32.const 1)))
                (block $pdone (loop $ps
                  (br_if $pdone (i32.le_s (local.get $p) (i32.const 0)))
                  (br_if $pdone (i32.eqz (f32.lt
                    (f32.load (i32.add (local.get $kept) (i32.shl (i32.add (local.get $o) (i32.sub (local.get $p) (i32.const 1))) (i32.const 2))))
                    (local.get $v))))
                  (f32.store (i32.add (local.get $kept) (i32.shl (i32.add (local.get $o) (local.get $p)) (i32.const 2)))
                    (f32.load (i32.add (local.get $kept) (i32.shl (i32.add (local.get $o) (i32.sub (local.get $p) (i32.const 1))) (i32.const 2)))))
                  (i32.store (i32.add (local.get $out) (i32.shl (i32.add (local.get $o) (local.get $p)) (i32.const 2)))
                    (i32.load (i32.add (local.get $out) (i32.shl (i32.add (local.get $o) (i32.sub (local.get $p) (i32.const 1))) (i32.const 2)))))
                  (local.set $p (i32.sub (local.get $p) (i32.const 1)))
                  (br $ps)))
                (f32.store (i32.add (local.get $kept) (i32.shl (i32.add (local.get $o) (local.get $p)) (i32.const 2))) (local.get $v))
                (i32.store (i32.add (local.get $out) (i32.shl (i32.add (local.get $o) (local.get $p)) (i32.const 2))) (local.get $c))
                (f32.store (i32.add (local.get $floor) (i32.shl (local.get $i) (i32.const 2)))
                  (f32.load (i32.add (local.get $kept) (i32.shl (i32.add (local.get $o) (i32.sub (local.get $n) (i32.const 1))) (i32.const 2)))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $is)))
          (local.set $f0 (v128.load offset=0 (local.get $floor))) (local.set $f1 (v128.load offset=16 (local.get $floor)))
          (local.set $f2 (v128.load offset=32 (local.get $floor))) (local.set $f3 (v128.load offset=48 (local.get $floor)))
          (local.set $f4 (v128.load offset=64 (local.get $floor))) (local.set $f5 (v128.load offset=80 (local.get $floor)))
          (local.set $f6 (v128.load offset=96 (local.get $floor))) (local.set $f7 (v128.load offset=112 (local.get $floor)))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $cs)))
  )

  ;; The query's table T (R × 256 rows of 32 f32): T[g, b, i] = Σ over byte g's ≤ 4 coded axes s
  ;; of tab4[g, b, s] · q[i, dims[g, s]], plus at g = 0 uc[i] (the query rows' products with the
  ;; constant uncoded coordinates). A row has ≤ 4 non-zero coordinates, so this costs 4 · 32
  ;; multiply-adds a row instead of a dense product's 128 · 32 (which took ~2.3 ms a query in
  ;; onnxruntime, stacked under the centroids; this takes ~0.1–0.2 ms).
  ;;   $qt  the query transposed: D rows of 32 f32 (row d: q[0..31, d]);  $dims R × 4 i32 (-1: none)
  (func (export "tables")
    (param $qt i32) (param $tab4 i32) (param $dims i32) (param $uc i32) (param $R i32) (param $T i32)
    (local $g i32) (local $b i32) (local $s i32) (local $d i32) (local $e i32) (local $p i32) (local $o i32)
    (local $w v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (block $gdone (loop $gs
      (br_if $gdone (i32.ge_u (local.get $g) (local.get $R)))
      (local.set $b (i32.const 0))
      (block $bdone (loop $bs
        (br_if $bdone (i32.ge_u (local.get $b) (i32.const 256)))
        (local.set $e (i32.add (i32.shl (local.get $g) (i32.const 8)) (local.get $b)))
        (if (i32.eqz (local.get $g))
          (then
            (local.set $a0 (v128.load offset=0 (local.get $uc))) (local.set $a1 (v128.load offset=16 (local.get $uc)))
            (local.set $a2 (v128.load offset=32 (local.get $uc))) (local.set $a3 (v128.load offset=48 (local.get $uc)))
            (local.set $a4 (v128.load offset=64 (local.get $uc))) (local.set $a5 (v128.load offset=80 (local.get $uc)))
            (local.set $a6 (v128.load offset=96 (local.get $uc))) (local.set $a7 (v128.load offset=112 (local.get $uc))))
          (else
            (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
            (local.set $a4 (v128.const i32x4 0 0 0 0)) (local.set $a5 (v128.const i32x4 0 0 0 0))
            (local.set $a6 (v128.const i32x4 0 0 0 0)) (local.set $a7 (v128.const i32x4 0 0 0 0))))
        (local.set $s (i32.const 0))
        (block $sdone (loop $ss
          (br_if $sdone (i32.ge_u (local.get $s) (i32.const 4)))
          (local.set $d (i32.load (i32.add (local.get $dims)
            (i32.shl (i32.add (i32.shl (local.get $g) (i32.const 2)) (local.get $s)) (i32.const 2)))))
          (if (i32.ge_s (local.get $d) (i32.const 0))
            (then
              (local.set $w (v128.load32_splat (i32.add (local.get $tab4)
                (i32.shl (i32.add (i32.shl (local.get $e) (i32.const 2)) (local.get $s)) (i32.const 2)))))
              (local.set $p (i32.add (local.get $qt) (i32.shl (local.get $d) (i32.const 7))))
              (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $w) (v128.load offset=0 (local.get $p)))))
              (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $w) (v128.load offset=16 (local.get $p)))))
              (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $w) (v128.load offset=32 (local.get $p)))))
              (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $w) (v128.load offset=48 (local.get $p)))))
              (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $w) (v128.load offset=64 (local.get $p)))))
              (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $w) (v128.load offset=80 (local.get $p)))))
              (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $w) (v128.load offset=96 (local.get $p)))))
              (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $w) (v128.load offset=112 (local.get $p)))))))
          (local.set $s (i32.add (local.get $s) (i32.const 1)))
          (br $ss)))
        (local.set $o (i32.add (local.get $T) (i32.shl (local.get $e) (i32.const 7))))
        (v128.store offset=0 (local.get $o) (local.get $a0))
        (v128.store offset=16 (local.get $o) (local.get $a1))
        (v128.store offset=32 (local.get $o) (local.get $a2))
        (v128.store offset=48 (local.get $o) (local.get $a3))
        (v128.store offset=64 (local.get $o) (local.get $a4))
        (v128.store offset=80 (local.get $o) (local.get $a5))
        (v128.store offset=96 (local.get $o) (local.get $a6))
        (v128.store offset=112 (local.get $o) (local.get $a7))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $bs)))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br $gs)))
  )

  ;; Exact MaxSim of the decoded (renormalised when $normalize) vectors: out[u, i] = max over the
  ;; unit's tokens of q_i · v_j / ‖v_j‖, and tokmax[j] = max over the unmasked rows.
  (func (export "exact")
    (param $sT i32) (param $T i32) (param $tab4 i32) (param $cg i32) (param $cext i32)
    (param $lens i32) (param $R i32) (param $rsq0 f32) (param $normalize i32)
    (param $cids i32) (param $norms i32) (param $codes i32) (param $counts i32) (param $nu i32)
    (param $out i32) (param $tokmax i32) (param $mask i32)
    (local $u i32) (local $j i32) (local $end i32) (local $cid i32) (local $cb i32) (local $g i32)
    (local $off i32) (local $tp i32) (local $cgp i32) (local $s i32) (local $o i32)
    (local $len f32) (local $inv f32) (local $rr f32) (local $nsq f32) (local $cr f32)
    (local $rr4 v128) (local $lenv v128) (local $invv v128) (local $v v128) (local $tm v128) (local $cr4 v128) (local $ninf v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
    (local $m4 v128) (local $m5 v128) (local $m6 v128) (local $m7 v128)
    (local.set $ninf (f32x4.splat (f32.const -inf)))
    (block $done (loop $units
      (br_if $done (i32.ge_u (local.get $u) (local.get $nu)))
      (local.set $end (i32.add (local.get $j)
        (i32.load (i32.add (local.get $counts) (i32.shl (local.get $u) (i32.const 2))))))
      (local.set $m0 (local.get $ninf)) (local.set $m1 (local.get $ninf))
      (local.set $m2 (local.get $ninf)) (local.set $m3 (local.get $ninf))
      (local.set $m4 (local.get $ninf)) (local.set $m5 (local.get $ninf))
      (local.set $m6 (local.get $ninf)) (local.set $m7 (local.get $ninf))
      (block $tdone (loop $toks
        (br_if $tdone (i32.ge_u (local.get $j) (local.get $end)))
        (local.set $cid (i32.load16_u (i32.add (local.get $cids) (i32.shl (local.get $j) (i32.const 1)))))
        (local.set $len (f32.load (i32.add (local.get $lens)
          (i32.shl (i32.load8_u (i32.add (local.get $norms) (local.get $j))) (i32.const 2)))))
        (local.set $cb (i32.add (local.get $codes) (i32.mul (local.get $j) (local.get $R))))
        (local.set $cgp (i32.add (local.get $cg) (i32.shl (i32.mul (local.get $cid) (local.get $R)) (i32.const 4))))
        (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $a4 (v128.const i32x4 0 0 0 0)) (local.set $a5 (v128.const i32x4 0 0 0 0))
        (local.set $a6 (v128.const i32x4 0 0 0 0)) (local.set $a7 (v128.const i32x4 0 0 0 0))
        (local.set $cr4 (v128.const i32x4 0 0 0 0))
        (local.set $rr4 (v128.const i32x4 0 0 0 0))
        (local.set $rr (local.get $rsq0))
        (local.set $g (i32.const 0))
        ;; One pass over the code bytes: each byte's row of T, and its decoded coordinates for
        ;; c · r and ‖r‖² (lane-wise, summed after the loop; unused when not renormalising)
        (block $gdone (loop $bytes
          (br_if $gdone (i32.ge_u (local.get $g) (local.get $R)))
          ;; off = g · 256 + the code byte at g
          (local.set $off (i32.add (i32.shl (local.get $g) (i32.const 8))
            (i32.load8_u (i32.add (local.get $cb) (local.get $g)))))
          (local.set $tp (i32.add (local.get $T) (i32.shl (local.get $off) (i32.const 7))))
          (local.set $a0 (f32x4.add (local.get $a0) (v128.load offset=0 (local.get $tp))))
          (local.set $a1 (f32x4.add (local.get $a1) (v128.load offset=16 (local.get $tp))))
          (local.set $a2 (f32x4.add (local.get $a2) (v128.load offset=32 (local.get $tp))))
          (local.set $a3 (f32x4.add (local.get $a3) (v128.load offset=48 (local.get $tp))))
          (local.set $a4 (f32x4.add (local.get $a4) (v128.load offset=64 (local.get $tp))))
          (local.set $a5 (f32x4.add (local.get $a5) (v128.load offset=80 (local.get $tp))))
          (local.set $a6 (f32x4.add (local.get $a6) (v128.load offset=96 (local.get $tp))))
          (local.set $a7 (f32x4.add (local.get $a7) (v128.load offset=112 (local.get $tp))))
          (local.set $v (v128.load (i32.add (local.get $tab4) (i32.shl (local.get $off) (i32.const 4)))))
          (local.set $cr4 (f32x4.add (local.get $cr4)
            (f32x4.mul (local.get $v) (v128.load (i32.add (local.get $cgp) (i32.shl (local.get $g) (i32.const 4)))))))
          (local.set $rr4 (f32x4.add (local.get $rr4) (f32x4.mul (local.get $v) (local.get $v))))
          (local.set $g (i32.add (local.get $g) (i32.const 1)))
          (br $bytes)))
        (local.set $inv (f32.const 1))
        (if (local.get $normalize) (then
          (local.set $rr (f32.add (local.get $rr)
            (f32.add (f32.add (f32x4.extract_lane 0 (local.get $rr4)) (f32x4.extract_lane 1 (local.get $rr4)))
                     (f32.add (f32x4.extract_lane 2 (local.get $rr4)) (f32x4.extract_lane 3 (local.get $rr4))))))
          (local.set $s (i32.add (local.get $cext) (i32.shl (local.get $cid) (i32.const 3))))
          (local.set $cr (f32.add (f32.load (local.get $s))
            (f32.add (f32.add (f32x4.extract_lane 0 (local.get $cr4)) (f32x4.extract_lane 1 (local.get $cr4)))
                     (f32.add (f32x4.extract_lane 2 (local.get $cr4)) (f32x4.extract_lane 3 (local.get $cr4))))))
          (local.set $nsq (f32.add (f32.load offset=4 (local.get $s))
            (f32.mul (local.get $len)
              (f32.add (f32.mul (f32.const 2) (local.get $cr)) (f32.mul (local.get $len) (local.get $rr))))))
          (if (f32.gt (local.get $nsq) (f32.const 0))
            (then (local.set $inv (f32.div (f32.const 1) (f32.sqrt (local.get $nsq))))))))
        (local.set $lenv (f32x4.splat (local.get $len)))
        (local.set $invv (f32x4.splat (local.get $inv)))
        (local.set $s (i32.add (local.get $sT) (i32.shl (local.get $cid) (i32.const 7))))
        ;; v = (S[c] + len · a) / ‖v‖, row group by row group
        (local.set $v (f32x4.mul (local.get $invv) (f32x4.add (v128.load offset=0 (local.get $s)) (f32x4.mul (local.get $lenv) (local.get $a0)))))
        (local.set $m0 (f32x4.max (local.get $m0) (local.get $v)))
        (local.set $tm (f32x4.add (local.get $v) (v128.load offset=0 (local.get $mask))))
        (local.set $v (f32x4.mul (local.get $invv) (f32x4.add (v128.load offset=16 (local.get $s)) (f32x4.mul (local.get $lenv) (local.get $a1)))))
        (local.set $m1 (f32x4.max (local.get $m1) (local.get $v)))
        (local.set $tm (f32x4.max (local.get $tm) (f32x4.add (local.get $v) (v128.load offset=16 (local.get $mask)))))
        (local.set $v (f32x4.mul (local.get $invv) (f32x4.add (v128.load offset=32 (local.get $s)) (f32x4.mul (local.get $lenv) (local.get $a2)))))
        (local.set $m2 (f32x4.max (local.get $m2) (local.get $v)))
        (local.set $tm (f32x4.max (local.get $tm) (f32x4.add (local.get $v) (v128.load offset=32 (local.get $mask)))))
        (local.set $v (f32x4.mul (local.get $invv) (f32x4.add (v128.load offset=48 (local.get $s)) (f32x4.mul (local.get $lenv) (local.get $a3)))))
        (local.set $m3 (f32x4.max (local.get $m3) (local.get $v)))
        (local.set $tm (f32x4.max (local.get $tm) (f32x4.add (local.get $v) (v128.load offset=48 (local.get $mask)))))
        (local.set $v (f32x4.mul (local.get $invv) (f32x4.add (v128.load offset=64 (local.get $s)) (f32x4.mul (local.get $lenv) (local.get $a4)))))
        (local.set $m4 (f32x4.max (local.get $m4) (local.get $v)))
        (local.set $tm (f32x4.max (local.get $tm) (f32x4.add (local.get $v) (v128.load offset=64 (local.get $mask)))))
        (local.set $v (f32x4.mul (local.get $invv) (f32x4.add (v128.load offset=80 (local.get $s)) (f32x4.mul (local.get $lenv) (local.get $a5)))))
        (local.set $m5 (f32x4.max (local.get $m5) (local.get $v)))
        (local.set $tm (f32x4.max (local.get $tm) (f32x4.add (local.get $v) (v128.load offset=80 (local.get $mask)))))
        (local.set $v (f32x4.mul (local.get $invv) (f32x4.add (v128.load offset=96 (local.get $s)) (f32x4.mul (local.get $lenv) (local.get $a6)))))
        (local.set $m6 (f32x4.max (local.get $m6) (local.get $v)))
        (local.set $tm (f32x4.max (local.get $tm) (f32x4.add (local.get $v) (v128.load offset=96 (local.get $mask)))))
        (local.set $v (f32x4.mul (local.get $invv) (f32x4.add (v128.load offset=112 (local.get $s)) (f32x4.mul (local.get $lenv) (local.get $a7)))))
        (local.set $m7 (f32x4.max (local.get $m7) (local.get $v)))
        (local.set $tm (f32x4.max (local.get $tm) (f32x4.add (local.get $v) (v128.load offset=112 (local.get $mask)))))
        (f32.store (i32.add (local.get $tokmax) (i32.shl (local.get $j) (i32.const 2)))
          (f32.max (f32.max (f32x4.extract_lane 0 (local.get $tm)) (f32x4.extract_lane 1 (local.get $tm)))
                   (f32.max (f32x4.extract_lane 2 (local.get $tm)) (f32x4.extract_lane 3 (local.get $tm)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $toks)))
      (local.set $o (i32.add (local.get $out) (i32.shl (local.get $u) (i32.const 7))))
      (v128.store offset=0 (local.get $o) (local.get $m0))
      (v128.store offset=16 (local.get $o) (local.get $m1))
      (v128.store offset=32 (local.get $o) (local.get $m2))
      (v128.store offset=48 (local.get $o) (local.get $m3))
      (v128.store offset=64 (local.get $o) (local.get $m4))
      (v128.store offset=80 (local.get $o) (local.get $m5))
      (v128.store offset=96 (local.get $o) (local.get $m6))
      (v128.store offset=112 (local.get $o) (local.get $m7))
      (local.set $u (i32.add (local.get $u) (i32.const 1)))
      (br $units)))
  )
)
