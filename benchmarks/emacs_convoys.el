;;; emacs_convoys.el --- Benchmark of the gastown convoys buffer  -*- lexical-binding: t -*-

;;; Commentary:

;; Run by benchmarks/emacs_convoys.py, which builds the town and passes
;; GASTOWN_BENCH_TOWN, GASTOWN_BENCH_EXPECT (tracked beads) and
;; GASTOWN_BENCH_CLOSER (a command closing beads, printing commit times).

;;; Code:

(require 'gastown)
(require 'gastown-convoys)

(defun gastown-bench--beads-shown ()
  "Count tracked bead lines in the current convoys buffer."
  (let ((n 0))
    (maphash (lambda (_ beads) (setq n (+ n (length beads)))) gastown-convoys--trees)
    n))

(defun gastown-bench--ms (seconds)
  "Return SECONDS as a millisecond string."
  (format "%.1f ms" (* 1000 seconds)))

(defun gastown-bench--percentile (values p)
  "Return the P-th percentile of VALUES."
  (let ((sorted (sort (copy-sequence values) #'<)))
    (nth (min (1- (length sorted)) (floor (* p (length sorted)))) sorted)))

(defun gastown-bench-convoys ()
  "Measure first render and push-to-render latency; print the figures."
  (let* ((town (gastown--normalize-town (getenv "GASTOWN_BENCH_TOWN")))
         (expect (string-to-number (getenv "GASTOWN_BENCH_EXPECT")))
         (t0 (float-time))
         (_ (gastown-conn town))
         (t-connect (- (float-time) t0))
         (firsts nil)
         (paints nil)
         buf)
    (dotimes (_ 5)
      (when buf (kill-buffer buf))
      (let* ((done nil)
             (painted nil)
             (t-open (float-time))
             (hook (lambda ()
                     (setq painted (or painted (float-time)))
                     (when (>= (gastown-bench--beads-shown) expect)
                       (setq done (or done (float-time)))))))
        (add-hook 'gastown-convoys-after-render-hook hook)
        (setq buf (gastown-convoys town))
        (while (and (not done) (< (- (float-time) t-open) 60))
          (accept-process-output nil 0.005))
        (remove-hook 'gastown-convoys-after-render-hook hook)
        (unless done (error "Convoys never rendered %d beads" expect))
        (push (- done t-open) firsts)
        (push (- painted t-open) paints)))
    (princ (format "connect + initialize (cold server start): %s\n" (gastown-bench--ms t-connect)))
    (princ (format "gastown-convoys open to first paint (50 headings with progress): median %s\n"
                   (gastown-bench--ms (gastown-bench--percentile paints 0.5))))
    (princ (format "gastown-convoys open to first full render, %d convoys / %d beads \
\(5 opens, connected): median %s, max %s\n"
                   (with-current-buffer buf (length gastown-convoys--list))
                   expect (gastown-bench--ms (gastown-bench--percentile firsts 0.5))
                   (gastown-bench--ms (apply #'max firsts))))
    ;; Redraw alone (what each pushed change costs once data is in).
    (with-current-buffer buf
      (let ((n 10) (start (float-time)))
        (dotimes (_ n) (gastown-convoys--render))
        (princ (format "redraw of the whole buffer: %s\n"
                       (gastown-bench--ms (/ (- (float-time) start) n)))))
      (let ((n 50) (start (float-time)))
        (dotimes (i n)
          (gastown-convoys--redraw-one (nth (mod (* 7 i) (length gastown-convoys--list))
                                            gastown-convoys--list)))
        (princ (format "redraw of one convoy's section (the push path): %s\n"
                       (gastown-bench--ms (/ (- (float-time) start) n))))))
    ;; Push latency: another process closes beads; time until shown closed.
    ;; Each draw records when a bead first shows as closed (the push can
    ;; beat the closer's own report of its commit time), and the latency
    ;; is that moment minus the commit time.
    (let* ((committed (make-hash-table :test #'equal))
           (seen (make-hash-table :test #'equal))
           (latencies nil)
           (check (lambda ()
                    (with-current-buffer buf
                      (save-excursion
                        (goto-char (point-min))
                        (while (re-search-forward "^  \\(\\S-+\\) +closed " nil t)
                          (unless (gethash (match-string 1) seen)
                            (puthash (match-string 1) (float-time) seen)))))))
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
      (add-hook 'gastown-convoys-after-render-hook check)
      (process-send-string proc "go\n")
      (let ((deadline (+ (float-time) 120))
            (all-seen (lambda ()
                        (let ((ok t))
                          (maphash (lambda (id _) (unless (gethash id seen) (setq ok nil)))
                                   committed)
                          ok))))
        (while (and (or (process-live-p proc) (not (funcall all-seen)))
                    (< (float-time) deadline))
          (accept-process-output nil 0.005))
        (unless (funcall all-seen)
          (error "Some closes never appeared in the buffer")))
      (maphash (lambda (id at) (push (- (gethash id seen) at) latencies)) committed)
      (when (getenv "GASTOWN_BENCH_DEBUG") (princ (format "latencies: %S\n" (mapcar (lambda (x) (round (* 1000 x))) (reverse latencies)))))
      (princ (format "bead closed by another process -> shown closed in open buffer (%d closes): \
median %s, p90 %s, max %s\n"
                     (length latencies)
                     (gastown-bench--ms (gastown-bench--percentile latencies 0.5))
                     (gastown-bench--ms (gastown-bench--percentile latencies 0.9))
                     (gastown-bench--ms (apply #'max latencies)))))
    (gastown-bench-feed town)
    (when (getenv "GASTOWN_BENCH_EVENTS")
      (with-current-buffer (gastown--events-buffer)
        (write-region (point-min) (point-max) (getenv "GASTOWN_BENCH_EVENTS"))))
    (gastown-disconnect town)
    (kill-emacs 0)))

;; The feed buffer (issue 15): a change in the ledger -> its line in an open
;; `gastown-feed' buffer, and the buffer's size while 10,000 events arrive.
(defun gastown-bench--run (command)
  "Run COMMAND (a string); return a process whose lines \"closed ID TIME\" fill a table.
Return (PROCESS . TABLE)."
  (let* ((committed (make-hash-table :test #'equal))
         (proc (make-process
                :name "writer" :connection-type 'pipe
                :command (split-string command)
                :filter (let ((acc ""))
                          (lambda (_p s)
                            (setq acc (concat acc s))
                            (while (string-match "\\`\\(?:closed\\|burst\\) \\(\\S-+\\) \\([0-9.]+\\)\n" acc)
                              (puthash (match-string 1 acc)
                                       (string-to-number (match-string 2 acc)) committed)
                              (setq acc (substring acc (match-end 0)))))))))
    (cons proc committed)))

(defun gastown-bench-feed (town)
  "Measure the feed buffer of TOWN: push-to-line latency, then its cap under 10,000 events."
  (let* ((feed (gastown-feed town))
         (seen (make-hash-table :test #'equal))
         (watch (lambda (tw method _params)
                  (when (and (equal tw town) (eq method '$/gastown/event))
                    (with-current-buffer feed
                      (save-excursion
                        (goto-char (point-max))
                        (forward-line -3)
                        (while (re-search-forward " closed +\\(\\S-+\\)" nil t)
                          (unless (gethash (match-string 1) seen)
                            (puthash (match-string 1) (float-time) seen))))))))
         (run (gastown-bench--run (getenv "GASTOWN_BENCH_FEED_CLOSER")))
         (latencies nil))
    ;; After the feed's own hook, so the line is there when we look.
    (add-hook 'gastown-notification-functions watch t)
    (process-send-string (car run) "go\n")
    (let ((deadline (+ (float-time) 120)))
      (while (and (process-live-p (car run)) (< (float-time) deadline))
        (accept-process-output nil 0.005))
      (accept-process-output nil 0.5))
    (remove-hook 'gastown-notification-functions watch)
    (maphash (lambda (id at) (when (gethash id seen) (push (- (gethash id seen) at) latencies)))
             (cdr run))
    (unless latencies (error "No close reached the feed buffer"))
    (princ (format "bead closed by another process -> its line in an open feed buffer (%d of %d closes): \
median %s, p90 %s, max %s\n"
                   (length latencies) (hash-table-count (cdr run))
                   (gastown-bench--ms (gastown-bench--percentile latencies 0.5))
                   (gastown-bench--ms (gastown-bench--percentile latencies 0.9))
                   (gastown-bench--ms (apply #'max latencies))))
    ;; 10,000 events written by another process (100 commits of 100); the
    ;; buffer's line count after each pushed event.
    (let* ((most 0) (events 0)
           (count (lambda (tw method _params)
                    (when (and (equal tw town) (eq method '$/gastown/event))
                      (cl-incf events)
                      (setq most (max most (with-current-buffer feed
                                             (count-lines (point-min) (point-max))))))))
           (burst (gastown-bench--run (getenv "GASTOWN_BENCH_BURST")))
           (t0 (float-time)))
      (add-hook 'gastown-notification-functions count t)
      (let ((deadline (+ (float-time) 300)))
        (while (and (or (process-live-p (car burst)) (< events 10000))
                    (< (float-time) deadline))
          (accept-process-output nil 0.01)))
      (remove-hook 'gastown-notification-functions count)
      (princ (format "feed buffer under 10,000 pushed events (cap gastown-feed-max-lines %d): \
%d events received in %.1f s, at most %d lines, %d at the end\n"
                     gastown-feed-max-lines events (- (float-time) t0) most
                     (with-current-buffer feed (count-lines (point-min) (point-max))))))))

(provide 'emacs_convoys)

;;; emacs_convoys.el ends here
