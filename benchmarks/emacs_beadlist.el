;;; emacs_beadlist.el --- Benchmark of the gastown bead list  -*- lexical-binding: t -*-

;;; Commentary:

;; Run by benchmarks/emacs_beadlist.py, which builds the town and passes
;; GASTOWN_BENCH_TOWN, GASTOWN_BENCH_EXPECT (work beads), GASTOWN_BENCH_VICTIMS
;; (beads the closer closes) and GASTOWN_BENCH_CLOSER (a command closing
;; them, printing commit times).

;;; Code:

(require 'gastown)
(require 'gastown-beadlist)

(defun gastown-bench--ms (seconds)
  "Return SECONDS as a millisecond string."
  (format "%.1f ms" (* 1000 seconds)))

(defun gastown-bench--percentile (values p)
  "Return the P-th percentile of VALUES."
  (let ((sorted (sort (copy-sequence values) #'<)))
    (nth (min (1- (length sorted)) (floor (* p (length sorted)))) sorted)))

(defun gastown-bench--open (town page)
  "Open TOWN's bead list with PAGE beads a page 5 times; return the open times."
  (let ((times nil) buf)
    (dotimes (_ 5)
      (when buf (kill-buffer buf))
      (let* ((done nil)
             (t-open (float-time))
             (want (min page (string-to-number (getenv "GASTOWN_BENCH_EXPECT"))))
             (hook (lambda ()
                     (when (>= (length gastown-beadlist--beads) want)
                       (setq done (or done (float-time)))))))
        (add-hook 'gastown-beadlist-after-render-hook hook)
        (setq gastown-beadlist-page-size page)
        (setq buf (gastown-beadlist town))
        (while (and (not done) (< (- (float-time) t-open) 60))
          (accept-process-output nil 0.002))
        (remove-hook 'gastown-beadlist-after-render-hook hook)
        (unless done (error "The bead list never showed %d beads" want))
        (push (- done t-open) times)))
    (cons buf times)))

(defun gastown-bench-beadlist ()
  "Measure first render and push-to-render latency; print the figures."
  (let* ((town (gastown--normalize-town (getenv "GASTOWN_BENCH_TOWN")))
         (_ (gastown-conn town))
         buf)
    (dolist (page '(500 2000))
      (let ((res (gastown-bench--open town page)))
        (setq buf (car res))
        (princ (format "gastown-beadlist open to full render, page of %d (of %s beads; 5 opens, connected): \
median %s, max %s\n"
                       page (with-current-buffer buf gastown-beadlist--total)
                       (gastown-bench--ms (gastown-bench--percentile (cdr res) 0.5))
                       (gastown-bench--ms (apply #'max (cdr res)))))))
    (with-current-buffer buf
      (let ((n 10) (start (float-time)))
        (dotimes (_ n) (gastown-beadlist--render))
        (princ (format "redraw alone, %d lines: %s\n" (length gastown-beadlist--beads)
                       (gastown-bench--ms (/ (- (float-time) start) n))))))
    ;; Back to the default page, then another process closes beads shown on it.
    (kill-buffer buf)
    (setq buf (car (gastown-bench--open town 500)))
    (let* ((victims (split-string (getenv "GASTOWN_BENCH_VICTIMS")))
           (committed (make-hash-table :test #'equal))
           (gone (make-hash-table :test #'equal))
           (latencies nil)
           (check (lambda ()
                    (let ((shown (make-hash-table :test #'equal)))
                      (dolist (b gastown-beadlist--beads) (puthash (plist-get b :id) t shown))
                      (dolist (v victims)
                        (unless (or (gethash v gone) (gethash v shown))
                          (puthash v (float-time) gone))))))
           (proc (make-process
                  :name "closer" :connection-type 'pipe
                  :command (split-string (getenv "GASTOWN_BENCH_CLOSER"))
                  :filter (let ((acc ""))
                            (lambda (_p s)
                              (setq acc (concat acc s))
                              (while (string-match "\\`closed \\(\\S-+\\) \\([0-9.]+\\)\n" acc)
                                (puthash (match-string 1 acc)
                                         (string-to-number (match-string 2 acc)) committed)
                                (setq acc (substring acc (match-end 0)))))))))
      (with-current-buffer buf
        (dolist (v victims)
          (unless (gastown-find-property 'gastown-bead v)
            (error "Victim %s is not on the first page" v))))
      (add-hook 'gastown-beadlist-after-render-hook check)
      (process-send-string proc "go\n")
      (let ((deadline (+ (float-time) 120)))
        (while (and (or (process-live-p proc) (< (hash-table-count gone) (length victims)))
                    (< (float-time) deadline))
          (accept-process-output nil 0.002)))
      (unless (= (hash-table-count gone) (length victims))
        (error "Some closes never left the list"))
      (maphash (lambda (id at) (push (- (gethash id gone) at) latencies)) committed)
      (princ (format "bead closed by another process -> gone from the open list (%d closes, page of 500): \
median %s, p90 %s, max %s\n"
                     (length latencies)
                     (gastown-bench--ms (gastown-bench--percentile latencies 0.5))
                     (gastown-bench--ms (gastown-bench--percentile latencies 0.9))
                     (gastown-bench--ms (apply #'max latencies)))))
    (gastown-disconnect town)
    (kill-emacs 0)))

(provide 'emacs_beadlist)

;;; emacs_beadlist.el ends here
