;; What indexing does per token vector once it is encoded (index/indexing-kernel.ts wraps it):
;;
;; assign: centroid assignment from short candidate lists (index/centroid-shortlist.ts), SIMD-128:
;; for each row, the candidate centroid with the largest dot product, then a greedy climb over the
;; centroids' nearest neighbours while one of them is nearer still. Plain JS took ~300 ns a
;; 128-dim dot product here, which made a 40-centroid list cost as much as the 8-bit product over
;; all 8192 centroids; this loop takes a few tens of ns.
;;
;; lengths, codes: residual coding (index/residual-codec.ts): each vector's residual length, then
;; (its length byte chosen by the wrapper, which has Math.log) each coded axis's bucket, found
;; through a lookup grid, packed into the code bytes. In float64, in the order residual-codec.ts
;; defines, so that the codes are those of its definition bit for bit. In plain JS this took
;; ~3.3 µs a vector, a seventh of encoding the vector.
;;
;; Memory (byte addresses prepared by the wrapper, 16-byte aligned; dim = 16 · $dim16 for assign):
;;   $C     k × dim f32, the centroids
;;   $nb    k × $M i32, each centroid's $M nearest other centroids (nearest first)
;;   $rows  dim f32 a row, the batch's vectors (in the codec's coordinates)
;;   $which n i32: the rows assign works on
;;   $lists n × [start, count] i32: row which[i]'s candidates are $cand[start, start + count)
;;   $cand  i32 centroid ids
;;   $out   n i32: the centroid chosen for each row
;;   $score n f32: its dot product with the row
(module
  (memory (export "memory") 1)

  ;; dot(row at $r, centroid at $c) over $dim16 groups of 16 floats, 4 accumulators.
  (func $dot (param $r i32) (param $c i32) (param $dim16 i32) (result f32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $end i32)
    (local.set $end (i32.add (local.get $r) (i32.shl (local.get $dim16) (i32.const 6))))
    (block $done (loop $groups
      (br_if $done (i32.ge_u (local.get $r) (local.get $end)))
      (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load offset=0 (local.get $r)) (v128.load offset=0 (local.get $c)))))
      (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load offset=16 (local.get $r)) (v128.load offset=16 (local.get $c)))))
      (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load offset=32 (local.get $r)) (v128.load offset=32 (local.get $c)))))
      (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load offset=48 (local.get $r)) (v128.load offset=48 (local.get $c)))))
      (local.set $r (i32.add (local.get $r) (i32.const 64)))
      (local.set $c (i32.add (local.get $c) (i32.const 64)))
      (br $groups)))
    (local.set $a0 (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3))))
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
      (f32.add (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0))))
  )

  ;; Returns the number of centroids compared, climbs included.
  (func (export "assign")
    (param $C i32) (param $dim16 i32) (param $nb i32) (param $M i32) (param $climbs i32)
    (param $rows i32) (param $which i32) (param $n i32) (param $lists i32) (param $cand i32) (param $out i32) (param $score i32)
    (result i32)
    (local $i i32) (local $r i32) (local $stride i32) (local $p i32) (local $pend i32)
    (local $c i32) (local $v f32) (local $best i32) (local $bestV f32)
    (local $next i32) (local $nextV f32) (local $step i32) (local $j i32) (local $compared i32)
    (local.set $stride (i32.shl (local.get $dim16) (i32.const 6)))
    (block $rdone (loop $rowsLoop
      (br_if $rdone (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $r (i32.add (local.get $rows) (i32.mul
        (i32.load (i32.add (local.get $which) (i32.shl (local.get $i) (i32.const 2)))) (local.get $stride))))
      ;; the best of the row's candidates (the first on ties)
      (local.set $p (i32.add (local.get $cand)
        (i32.shl (i32.load (i32.add (local.get $lists) (i32.shl (local.get $i) (i32.const 3)))) (i32.const 2))))
      (local.set $pend (i32.add (local.get $p)
        (i32.shl (i32.load offset=4 (i32.add (local.get $lists) (i32.shl (local.get $i) (i32.const 3)))) (i32.const 2))))
      (local.set $best (i32.load (local.get $p)))
      (local.set $bestV (f32.const -inf))
      (block $cdone (loop $cands
        (br_if $cdone (i32.ge_u (local.get $p) (local.get $pend)))
        (local.set $c (i32.load (local.get $p)))
        (local.set $v (call $dot (local.get $r) (i32.add (local.get $C) (i32.mul (local.get $c) (local.get $stride))) (local.get $dim16)))
        (local.set $compared (i32.add (local.get $compared) (i32.const 1)))
        (if (f32.gt (local.get $v) (local.get $bestV)) (then
          (local.set $bestV (local.get $v))
          (local.set $best (local.get $c))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $cands)))
      ;; climb: move to the nearest of the current centroid's neighbours while it is nearer
      (local.set $step (i32.const 0))
      (block $climbed (loop $climb
        (br_if $climbed (i32.ge_u (local.get $step) (local.get $climbs)))
        (local.set $next (local.get $best))
        (local.set $nextV (local.get $bestV))
        (local.set $p (i32.add (local.get $nb) (i32.shl (i32.mul (local.get $best) (local.get $M)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $ndone (loop $nbrs
          (br_if $ndone (i32.ge_u (local.get $j) (local.get $M)))
          (local.set $c (i32.load (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2)))))
          (local.set $v (call $dot (local.get $r) (i32.add (local.get $C) (i32.mul (local.get $c) (local.get $stride))) (local.get $dim16)))
          (if (f32.gt (local.get $v) (local.get $nextV)) (then
            (local.set $nextV (local.get $v))
            (local.set $next (local.get $c))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $nbrs)))
        (local.set $compared (i32.add (local.get $compared) (local.get $M)))
        (br_if $climbed (i32.eq (local.get $next) (local.get $best)))
        (local.set $best (local.get $next))
        (local.set $bestV (local.get $nextV))
        (local.set $step (i32.add (local.get $step) (i32.const 1)))
        (br $climb)))
      (i32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2))) (local.get $best))
      (f32.store (i32.add (local.get $score) (i32.shl (local.get $i) (i32.const 2))) (local.get $bestV))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $rowsLoop)))
    (local.get $compared)
  )
;; lengths: out[i] = ‖rows[i] − C[ids[i]]‖ (f64, summed in dimension order), for i < n.
  (func (export "lengths")
    (param $C i32) (param $dim i32) (param $rows i32) (param $ids i32) (param $n i32) (param $out i32)
    (local $i i32) (local $r i32) (local $c i32) (local $end i32) (local $s f64) (local $x f64)
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $r (i32.add (local.get $rows) (i32.shl (i32.mul (local.get $i) (local.get $dim)) (i32.const 2))))
      (local.set $c (i32.add (local.get $C) (i32.shl (i32.mul
        (i32.load (i32.add (local.get $ids) (i32.shl (local.get $i) (i32.const 2)))) (local.get $dim)) (i32.const 2))))
      (local.set $end (i32.add (local.get $r) (i32.shl (local.get $dim) (i32.const 2))))
      (local.set $s (f64.const 0))
      (block $sdone (loop $sum
        (br_if $sdone (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $x (f64.sub (f64.promote_f32 (f32.load (local.get $r))) (f64.promote_f32 (f32.load (local.get $c)))))
        (local.set $s (f64.add (local.get $s) (f64.mul (local.get $x) (local.get $x))))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $sum)))
      (f64.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3))) (f64.sqrt (local.get $s)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  )

  ;; codes: for i < n, the R code bytes of rows[i] against C[ids[i]], its residual scaled by
  ;; inv[i] (f64): for each coded axis a (dimension axes[a]), u = (x − c) · inv, its grid cell
  ;; clamp(trunc((u − origin[a]) · scale[a]), 0, 255), the cell's bucket cells[a, cell], raised
  ;; past the cutoffs at or below u (cutoffs: 63 f32 per dimension, cuts[a] of them used), OR-ed
  ;; into byte[a] at shift[a]. Grid tables: axes, byte, shift, cuts i32 a coded axis; origin,
  ;; scale f64; cells u8 × 256.
  (func (export "codes")
    (param $C i32) (param $dim i32) (param $rows i32) (param $ids i32) (param $n i32) (param $inv i32)
    (param $A i32) (param $axes i32) (param $byte i32) (param $shift i32) (param $cuts i32)
    (param $origin i32) (param $scale i32) (param $cells i32) (param $cutoffs i32)
    (param $R i32) (param $out i32)
    (local $i i32) (local $r i32) (local $c i32) (local $o i32) (local $a i32) (local $d i32)
    (local $u f64) (local $w f64) (local $cell i32) (local $b i32) (local $last i32) (local $cut i32) (local $p i32)
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $r (i32.add (local.get $rows) (i32.shl (i32.mul (local.get $i) (local.get $dim)) (i32.const 2))))
      (local.set $c (i32.add (local.get $C) (i32.shl (i32.mul
        (i32.load (i32.add (local.get $ids) (i32.shl (local.get $i) (i32.const 2)))) (local.get $dim)) (i32.const 2))))
      (local.set $w (f64.load (i32.add (local.get $inv) (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $o (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $R))))
      (memory.fill (local.get $o) (i32.const 0) (local.get $R))
      (local.set $a (i32.const 0))
      (block $adone (loop $axis
        (br_if $adone (i32.ge_u (local.get $a) (local.get $A)))
        (local.set $d (i32.shl (i32.load (i32.add (local.get $axes) (i32.shl (local.get $a) (i32.const 2)))) (i32.const 2)))
        (local.set $u (f64.mul
          (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $r) (local.get $d))))
                   (f64.promote_f32 (f32.load (i32.add (local.get $c) (local.get $d)))))
          (local.get $w)))
        (local.set $cell (i32.trunc_sat_f64_s (f64.mul
          (f64.sub (local.get $u) (f64.load (i32.add (local.get $origin) (i32.shl (local.get $a) (i32.const 3)))))
          (f64.load (i32.add (local.get $scale) (i32.shl (local.get $a) (i32.const 3)))))))
        ;; (clamped without branches: which way they go is up to the data)
        (local.set $cell (select (i32.const 0) (local.get $cell) (i32.lt_s (local.get $cell) (i32.const 0))))
        (local.set $cell (select (i32.const 255) (local.get $cell) (i32.gt_s (local.get $cell) (i32.const 255))))
        (local.set $b (i32.load8_u (i32.add (local.get $cells) (i32.add (i32.shl (local.get $a) (i32.const 8)) (local.get $cell)))))
        (local.set $last (i32.load (i32.add (local.get $cuts) (i32.shl (local.get $a) (i32.const 2)))))
        ;; this dimension's cutoffs: 63 f32 from cutoffs + dim index · 252
        (local.set $cut (i32.add (local.get $cutoffs) (i32.mul (i32.shr_u (local.get $d) (i32.const 2)) (i32.const 252))))
        (block $bdone (loop $raise
          (br_if $bdone (i32.ge_u (local.get $b) (local.get $last)))
          (br_if $bdone (f64.lt (local.get $u)
            (f64.promote_f32 (f32.load (i32.add (local.get $cut) (i32.shl (local.get $b) (i32.const 2)))))))
          (local.set $b (i32.add (local.get $b) (i32.const 1)))
          (br $raise)))
        (local.set $p (i32.add (local.get $o) (i32.load (i32.add (local.get $byte) (i32.shl (local.get $a) (i32.const 2))))))
        (i32.store8 (local.get $p) (i32.or (i32.load8_u (local.get $p))
          (i32.shl (local.get $b) (i32.load (i32.add (local.get $shift) (i32.shl (local.get $a) (i32.const 2)))))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (br $axis)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  )
)
