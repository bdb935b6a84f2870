;;; gastown-tests.el --- ERT tests for the gastown Emacs client  -*- lexical-binding: t -*-

;;; Commentary:

;; Two kinds of tests.  Client-logic tests drive the buffers' own code
;; (transcript offsets and colours, convoy redraws keeping point and
;; expansion, start-up errors).  Server tests start the real
;; `gastown-server --stdio' on a real town in a temporary directory
;; (and real tmux for agents) and check what the buffers show.
;; Run through run-tests.sh, or tests/clients/test_emacs.py.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'gastown)
(require 'gastown-transcript)
(require 'gastown-convoys)
(require 'gastown-mail)
(require 'gastown-agents)
(require 'gastown-beads)
(require 'gastown-mq)
(require 'gastown-status)
(require 'gastown-dispatch)

;;;; Helpers

(defun gastown-test-wait-for (pred &optional timeout what)
  "Process events until PRED returns non-nil; fail after TIMEOUT seconds.
WHAT describes the wait in the failure message."
  (let ((deadline (+ (float-time) (or timeout 10)))
        value)
    (while (and (not (setq value (funcall pred)))
                (< (float-time) deadline))
      (accept-process-output nil 0.02)
      (when (input-pending-p) (discard-input)))
    (or value
        (ert-fail (format "timed out waiting for %s; last events:\n%s" (or what pred)
                          (let ((ev (get-buffer gastown-events-buffer-name)))
                            (if (not ev) "(none)"
                              (with-current-buffer ev
                                (save-excursion
                                  (goto-char (point-max))
                                  (forward-line -15)
                                  (buffer-substring-no-properties (point) (point-max)))))))))))

(defun gastown-test-buffer-text (buf)
  "Return the text of BUF without properties."
  (with-current-buffer buf (buffer-substring-no-properties (point-min) (point-max))))

;;;; Client logic: terminal text

(ert-deftest gastown-filter-terminal-strips-osc-and-controls ()
  (should (equal (gastown-filter-terminal "a\e]0;title\ab\r\nc\bd\e[31me")
                 "ab\ncd\e[31me")))

(defun gastown-test--transcript-buffer ()
  "Return a fresh transcript buffer for agent \"t\" with no server."
  (let ((buf (generate-new-buffer "*gastown-test-transcript*")))
    (with-current-buffer buf
      (gastown-transcript-mode)
      (setq gastown-transcript-agent "t")
      (gastown-transcript--setup-prompt)
      (setq gastown-transcript--offset 0))
    buf))

(ert-deftest gastown-transcript-offsets-colours-and-prompt ()
  (let ((buf (gastown-test--transcript-buffer)))
    (unwind-protect
        (with-current-buffer buf
          (goto-char (point-max))
          (insert "typed")
          (gastown-transcript-accept '(:offset 0 :data "one \e[31mred\e[0m\n"))
          ;; The same chunk again, and one overlapping it, add nothing twice.
          (gastown-transcript-accept '(:offset 0 :data "one \e[31mred\e[0m\n"))
          (gastown-transcript-accept '(:offset 4 :data "\e[31mred\e[0m\ntwo\n"))
          (should (equal (buffer-substring-no-properties (point-min) gastown-transcript--output-end)
                         "one red\ntwo\n"))
          (should (= gastown-transcript--offset (+ 4 (length "\e[31mred\e[0m\ntwo\n"))))
          ;; Colour became a face that shows without font-lock.
          (goto-char (point-min))
          (search-forward "red")
          (let ((face (get-text-property (1- (point)) 'face)))
            (should face)
            (should (string-match-p "red" (format "%S" face))))
          ;; Prompt and typed input stay below the output.
          (should (equal (gastown-transcript--input) "typed"))
          ;; The prompt starts its own line even after a partial last line.
          (should (get-text-property gastown-transcript--output-end 'invisible))
          (gastown-transcript-accept (list :offset gastown-transcript--offset :data "ready> "))
          (should-not (get-text-property gastown-transcript--output-end 'invisible))
          (gastown-transcript-accept (list :offset gastown-transcript--offset :data "\n"))
          (should (get-text-property gastown-transcript--output-end 'invisible))
          ;; A gap is noted, not hidden.
          (gastown-transcript-accept (list :offset (+ gastown-transcript--offset 10) :data "three\n"))
          (should (string-match-p "10 bytes not shown\\(.\\|\n\\)*three"
                                  (gastown-test-buffer-text buf)))
          ;; Output is read-only; input is not.
          (goto-char (point-min))
          (should-error (insert "x") :type 'text-read-only))
      (kill-buffer buf))))

(ert-deftest gastown-transcript-follows-tail-unless-scrolled-up ()
  (let ((buf (gastown-test--transcript-buffer)))
    (unwind-protect
        (save-window-excursion
          (switch-to-buffer buf)
          (delete-other-windows)
          (let ((w (selected-window)))
            (dotimes (i 50)
              (gastown-transcript-accept (list :offset gastown-transcript--offset
                                               :data (format "line %d\n" i))))
            ;; Point sits on the input line: it follows.
            (goto-char (point-max))
            (gastown-transcript-accept (list :offset gastown-transcript--offset :data "new\n"))
            (should (>= (window-point w) gastown-transcript--input-start))
            ;; Scrolled up: point stays on the old line.
            (goto-char (point-min))
            (forward-line 3)
            (let ((here (point)))
              (gastown-transcript-accept (list :offset gastown-transcript--offset
                                               :data "newer\n"))
              (should (= (window-point w) here)))))
      (kill-buffer buf))))

;;;; Client logic: convoy redraws

(defun gastown-test--convoy-data (status)
  "Return convoy plists whose bead b-2 has STATUS."
  (list (list :id "hq-cv-1" :title "First" :status "open"
              :tracked (vector (list :id "b-1" :title "one" :status "open")
                               (list :id "b-2" :title "two" :status status
                                     :assignee "r/polecats/nux")))
        (list :id "hq-cv-2" :title "Second" :status "open"
              :tracked (vector (list :id "b-3" :title "three" :status "open")))))

(defun gastown-test--load-convoys (buf convoys)
  "Draw CONVOYS into BUF as if the server had sent them."
  (with-current-buffer buf
    (let ((trees (make-hash-table :test #'equal)))
      (dolist (c convoys)
        (puthash (plist-get c :id) (gastown-convoys--tracked c) trees))
      (setq gastown-convoys--list convoys
            gastown-convoys--trees trees)
      (gastown-convoys--index)
      (gastown-convoys--render))))

;; A convoys buffer drawn from `gastown-test--convoy-data', shown in the selected window.
(defmacro gastown-test-with-convoys-buffer (var &rest body)
  "Run BODY in a fresh convoys buffer bound to VAR, killed afterwards."
  (declare (indent 1))
  `(let ((,var (generate-new-buffer "*gastown-test-convoys*")))
     (unwind-protect
         (save-window-excursion
           (switch-to-buffer ,var)
           (gastown-convoys-mode)
           (gastown-test--load-convoys ,var (gastown-test--convoy-data "open"))
           ,@body)
       (kill-buffer ,var))))

(ert-deftest gastown-convoys-redraw-keeps-point-and-expansion ()
  (gastown-test-with-convoys-buffer buf
    (should (string-match-p "b-2 +open +r/polecats/nux" (gastown-test-buffer-text buf)))
    (should (string-match-p "First +hq-cv-1 +0/2" (gastown-test-buffer-text buf)))
    ;; Collapse the second convoy, put point on b-2.
    (magit-section-hide (magit-get-section '((gastown-convoy-section . "hq-cv-2")
                                             (gastown-convoys-root))))
    (goto-char (gastown-find-property 'gastown-bead "b-2"))
    (forward-char 3)
    (gastown-test--load-convoys buf (gastown-test--convoy-data "closed"))
    (should (string-match-p "b-2 +closed" (gastown-test-buffer-text buf)))
    (should (string-match-p "First +hq-cv-1 +1/2" (gastown-test-buffer-text buf)))
    (should (equal (gastown-convoys-bead-at-point) "b-2"))
    (should (= (current-column) 3))
    (should (equal (oref (magit-current-section) value) "hq-cv-1"))
    (should (oref (magit-get-section '((gastown-convoy-section . "hq-cv-2")
                                       (gastown-convoys-root)))
                  hidden))
    (should (equal (gethash "b-2" gastown-convoys--owners) '("hq-cv-1")))
    ;; Redrawing one convoy (the push path) keeps the rest as it was.
    (let ((c1 (car (gastown-test--convoy-data "in_progress"))))
      (puthash "hq-cv-1" (gastown-convoys--tracked c1) gastown-convoys--trees)
      (gastown-convoys--redraw-one c1))
    (should (string-match-p "b-2 +in_progress" (gastown-test-buffer-text buf)))
    (should (equal (gastown-convoys-bead-at-point) "b-2"))
    (should (equal (mapcar (lambda (s) (oref s value)) (oref magit-root-section children))
                   '("hq-cv-1" "hq-cv-2")))
    (let ((c2 (gastown-test--convoy-section "hq-cv-2")))
      (should (oref c2 hidden))
      (gastown-convoys--redraw-one (cadr (gastown-test--convoy-data "open")))
      (let ((c2 (gastown-test--convoy-section "hq-cv-2")))
        (should (oref c2 hidden))
        ;; Its bead line is in the buffer but not shown.
        (should (invisible-p (gastown-find-property 'gastown-bead "b-3")))))
    (should-not (invisible-p (gastown-find-property 'gastown-bead "b-1")))
    (should (= (oref magit-root-section end) (point-max)))))

(ert-deftest gastown-convoys-n-and-p-step-through-the-beads-of-an-expanded-convoy ()
  "Seen: `n' on an expanded convoy said \"No next section\" instead of stepping into its beads."
  (gastown-test-with-convoys-buffer buf
    (magit-section-hide (gastown-test--convoy-section "hq-cv-2"))
    (goto-char (oref (gastown-test--convoy-section "hq-cv-1") start))
    (gastown-convoys-next)
    (should (equal (gastown-convoys-bead-at-point) "b-1"))
    (gastown-convoys-next)
    (should (equal (gastown-convoys-bead-at-point) "b-2"))
    (gastown-convoys-next)          ; past the last bead: the next convoy's heading
    (should (equal (oref (magit-current-section) value) "hq-cv-2"))
    (should-not (gastown-convoys-bead-at-point))
    ;; hq-cv-2 is collapsed and last: its bead is not stepped into, and
    ;; only now is there no next section.
    (should-error (gastown-convoys-next) :type 'user-error)
    (should-not (gastown-convoys-bead-at-point))
    (goto-char (oref (gastown-test--convoy-section "hq-cv-2") start))
    (gastown-convoys-previous)
    (should (equal (gastown-convoys-bead-at-point) "b-2"))
    (gastown-convoys-previous)
    (gastown-convoys-previous)
    (should (equal (oref (magit-current-section) value) "hq-cv-1"))
    (should-not (gastown-convoys-bead-at-point))))

(ert-deftest gastown-convoys-emptied-tree-survives-the-highlight-hook ()
  "Seen with magit-section 3.3.0: `Error in post-command-hook
\(magit-section-update-highlight): (wrong-type-argument ...)' once the tree
became empty: magit-section still held the old sections' detached markers."
  (gastown-test-with-convoys-buffer buf
    (goto-char (gastown-find-property 'gastown-bead "b-2"))
    (magit-section-pre-command-hook)
    (magit-section-update-highlight t)
    (gastown-test--load-convoys buf nil)
    (should (string-match-p "No convoys" (gastown-test-buffer-text buf)))
    (dolist (pos (list (point-min) (point) (point-max)))
      (goto-char pos)
      (magit-section-pre-command-hook)
      (magit-section-update-highlight t))))

(defun gastown-test--convoy-section (id)
  "Return the section of convoy ID in the current buffer."
  (magit-get-section `((gastown-convoy-section . ,id) (gastown-convoys-root))))

(ert-deftest gastown-mail-id-column-is-whole-in-a-half-width-window ()
  "Seen: the Id column was cut to a few characters in a half-width window."
  (let ((buf (generate-new-buffer "*gastown-test-mail*"))
        (id "hq-wisp-k2x9q"))
    (unwind-protect
        (save-window-excursion
          (switch-to-buffer buf)
          (delete-other-windows)
          (gastown-mail-mode)
          (gastown-mail--show
           (list (list :id id :sender "gastown/polecats/furiosa" :created_at "2026-12-03T08:00:00Z"
                       :subject (make-string 90 ?s))))
          (goto-char (point-min))
          (let ((line (buffer-substring-no-properties (line-beginning-position) (line-end-position))))
            ;; Whole, and within the first 40 columns (what half of an 80-column frame shows).
            (should (string-match (regexp-quote id) line))
            (should (< (match-end 0) 40))
            (should (equal (tabulated-list-get-id) id))))
      (kill-buffer buf))))

(ert-deftest gastown-agents-cost-column ()
  "The agents view shows each agent's cost, and \"-\" for one that used no tokens."
  (let ((entries (gastown-agents--entries
                  (list (list :address "mayor" :role "mayor" :cost_usd 0.01234 :tokens 9000)
                        (list :address "deacon" :role "deacon" :cost_usd 0 :tokens 0)
                        (list :address "gt/witness" :role "witness" :cost_usd 12.5 :tokens 10)))))
    (should (equal (mapcar (lambda (e) (aref (cadr e) 6)) entries) '("$0.0123" "-" "$12.50")))
    (should (gastown-agents--cost-less-p (nth 1 entries) (nth 0 entries)))
    (should (gastown-agents--cost-less-p (nth 0 entries) (nth 2 entries)))))

(defun gastown-test--feed-event (n kind bead &optional actor)
  "Return feed event number N of KIND on BEAD by ACTOR."
  (list :id n :at "2026-12-03T08:00:00Z" :actor (or actor "mayor") :kind kind :bead_id bead))

(ert-deftest gastown-feed-hides-patrol-noise-and-stays-under-its-cap ()
  "Seen: patrol wisps buried the feed, and its buffer grew to 7,000 lines in 30 minutes."
  (let ((buf (generate-new-buffer "*gastown-test-feed*"))
        (gastown-feed-max-lines 500))
    (unwind-protect
        (with-current-buffer buf
          (gastown-feed-mode)
          (gastown-feed--append
           (list (gastown-test--feed-event 1 "wisp_poured" "gt-wisp-a1")
                 (gastown-test--feed-event 2 "closed" "gt-wisp-a1.3" "gastown/witness")
                 (gastown-test--feed-event 3 "molecule_burned" "gt-wisp-a1")
                 (gastown-test--feed-event 4 "closed" "gt-abc" "gastown/polecats/nux")))
          (should (= 1 (count-lines (point-min) (point-max))))
          (should (string-match-p "gt-abc" (buffer-string)))
          (should-not (string-match-p "wisp" (buffer-string)))
          (let ((gastown-feed-show-noise t))
            (let ((inhibit-read-only t)) (erase-buffer))
            (gastown-feed--append (list (gastown-test--feed-event 1 "wisp_poured" "gt-wisp-a1")))
            (should (string-match-p "wisp_poured" (buffer-string))))
          ;; A rig filter: its actors and its prefix's beads only.
          (let ((inhibit-read-only t)) (erase-buffer))
          (setq gastown-feed-rig "gastown" gastown-feed--rig-prefix "gt")
          (gastown-feed--append (list (gastown-test--feed-event 5 "closed" "gt-x1" "overseer")
                                      (gastown-test--feed-event 6 "updated" "hq-y2" "gastown/crew/max")
                                      (gastown-test--feed-event 7 "updated" "pj-z3" "other/polecats/a")))
          (should (string-match-p "gt-x1" (buffer-string)))
          (should (string-match-p "hq-y2" (buffer-string)))
          (should-not (string-match-p "pj-z3" (buffer-string)))
          (setq gastown-feed-rig nil)
          ;; 10,000 events, one at a time as pushes arrive: never far over the cap.
          (let ((most 0))
            (dotimes (i 10000)
              (gastown-feed--append (list (gastown-test--feed-event (+ 10 i) "updated" (format "gt-%d" i))))
              (setq most (max most (count-lines (point-min) (point-max)))))
            (should (<= most (+ 500 (/ 500 10) 1)))
            (should (string-match-p "gt-9999" (buffer-string)))
            (should-not (string-match-p "gt-5 " (buffer-string)))))
      (kill-buffer buf))))

;; Issue 15: a feed buffer opened after the demo was empty until something
;; happened, and patrol wisps buried the rest.  Against the real server: it opens
;; with the ledger's recent news (feed/recent), the Deacon's patrol wisp hidden,
;; pushed events follow, and `k' shows one kind.
(ert-deftest gastown-server-feed-opens-with-news-and-filters-by-kind ()
  (gastown-test-with-town town
    (let* ((work (gastown-test-bead town "Fix the parser"))
           (wisp (plist-get (json-parse-string
                             (gastown-test-sh town "bd" "mol" "wisp" "mol-deacon-patrol" "--json")
                             :object-type 'plist)
                            :id))
           (buf (gastown-feed town)))
      (should (gastown-test-buffer-matches buf (concat "created +" (regexp-quote work))))
      (should-not (gastown-test-buffer-matches buf (regexp-quote wisp)))
      (should (string-match-p "patrol noise hidden"
                              (with-current-buffer buf (gastown-feed--header))))
      (gastown-test-sh town "bd" "close" work "--reason" "done")
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches buf (concat "closed +" (regexp-quote work))))
       10 "the pushed close in the feed")
      (with-current-buffer buf
        (gastown-feed-filter-kind "closed")
        (should (string-match-p "kind closed" (gastown-feed--header)))
        (should (gastown-test-buffer-matches buf (concat "closed +" (regexp-quote work))))
        (should-not (gastown-test-buffer-matches buf "created "))
        (gastown-feed-filter-kind "")
        (gastown-feed-toggle-noise)
        (should (gastown-test-buffer-matches buf (concat "wisp_poured +" (regexp-quote wisp))))
        (should (gastown-test-buffer-matches buf (concat "created +" (regexp-quote work))))))))

(ert-deftest gastown-agents-state-is-starting-before-the-session-exists ()
  "Seen after a sling: the ledger said running while tmux had no session yet."
  (should (equal "starting" (gastown-agents--state
                             '(:agent_state "running" :running :json-false :alive :json-false))))
  (should (equal "running" (gastown-agents--state
                            '(:agent_state "running" :running t :alive t))))
  (should (equal "idle" (gastown-agents--state
                         '(:agent_state "idle" :running :json-false :alive :json-false)))))

(ert-deftest gastown-mail-unread-first ()
  (let ((sorted (gastown-mail--sort
                 (list (list :id "m1" :read t :created_at "2026-11-22T10:00:00Z")
                       (list :id "m2" :read :json-false :created_at "2026-11-22T09:00:00Z")
                       (list :id "m3" :read :json-false :created_at "2026-11-22T11:00:00Z")))))
    (should (equal (mapcar (lambda (m) (plist-get m :id)) sorted) '("m3" "m2" "m1")))))

;;;; Bad input: what the user is told

(ert-deftest gastown-missing-server-binary-says-what-to-do ()
  (let* ((town (make-temp-file "gastown-town" t))
         (gastown-server-command '("gastown-server-no-such-binary" "--stdio")))
    (unwind-protect
        (progn
          (make-directory (expand-file-name ".gastown" town))
          (write-region "" nil (expand-file-name ".gastown/ledger.db" town))
          (let ((err (should-error (gastown-conn (gastown--normalize-town town))
                                   :type 'user-error)))
            (should (string-match-p "cannot find .gastown-server-no-such-binary.*install"
                                    (cadr err)))
            (should-not (string-match-p "\n" (cadr err)))))
      (delete-directory town t))))

(ert-deftest gastown-server-that-cannot-start-says-why-once ()
  (let* ((dir (gastown--normalize-town (make-temp-file "gastown-badtown" t))))
    (unwind-protect
        (progn
          (make-directory (expand-file-name ".gastown" dir))
          (write-region "not a database" nil (expand-file-name ".gastown/ledger.db" dir))
          (let ((err (should-error (gastown-conn dir) :type 'user-error)))
            (should (string-match-p "did not start: .*not a database" (cadr err)))
            (should-not (string-match-p "\n" (cadr err))))
          ;; No reconnection loop for a server that never started.
          (should-not (gastown--state-timer (gastown--state dir)))
          (should-not (gastown-connected-p dir)))
      (gastown-disconnect dir)
      (remhash dir gastown--states)
      (delete-directory dir t))))

(ert-deftest gastown-missing-town-says-what-to-do ()
  (let* ((town (expand-file-name "no-such-town/" temporary-file-directory))
         (err (should-error (gastown-conn town) :type 'user-error)))
    (should (string-match-p "does not exist; create it with .gt install" (cadr err))))
  (let* ((dir (make-temp-file "gastown-notatown" t))
         (err (should-error (gastown-conn (gastown--normalize-town dir)) :type 'user-error)))
    (delete-directory dir t)
    (should (string-match-p "is not a town" (cadr err)))))

;;;; Server tests: the real gastown-server on a real town

(defvar gastown-test-python nil
  "Python running this checkout, for external writers (like an agent's bd).")

(defun gastown-test--python ()
  "Return the Python interpreter of the installed gastown."
  (or gastown-test-python
      (setq gastown-test-python
            (or (getenv "GASTOWN_TEST_PYTHON") (executable-find "python3") "python3"))))

(defun gastown-test-sh (town program &rest args)
  "Run PROGRAM with ARGS in TOWN (as an agent would); return its stdout.
Fail the test if it exits non-zero."
  (let ((default-directory town)
        (process-environment (cons (concat "GT_TOWN=" (directory-file-name town))
                                   process-environment)))
    (with-temp-buffer
      (let* ((err (make-temp-file "gastown-test-err"))
             (code (apply #'call-process program nil (list t err) nil args)))
        (unless (eql code 0)
          (ert-fail (format "%s %s exited %s: %s%s" program (string-join args " ") code
                            (buffer-string)
                            (with-temp-buffer (insert-file-contents err) (buffer-string)))))
        (delete-file err)
        (string-trim (buffer-string))))))

(defun gastown-test-bead (town title &rest args)
  "Create a bead called TITLE in TOWN with bd (extra ARGS); return its id."
  (apply #'gastown-test-sh town "bd" "create" title "--silent" args))

(defun gastown-test-kill-town-buffers (town)
  "Kill every buffer showing TOWN."
  (dolist (b (buffer-list))
    (when (equal (buffer-local-value 'gastown-buffer-town b) town)
      (kill-buffer b))))

(defmacro gastown-test-with-town (var &rest body)
  "Run BODY with VAR bound to a fresh town directory (a real ledger)."
  (declare (indent 1))
  `(let* ((,var (gastown--normalize-town (make-temp-file "gastown-ert-town" t)))
          (gastown-reconnect-delays '(0.1 0.2 0.5)))
     (unwind-protect
         (progn
           (gastown-test-sh ,var "bd" "init" "--prefix" "gt")
           ,@body)
       (gastown-test-kill-town-buffers ,var)
       (gastown-disconnect ,var)
       (remhash ,var gastown--states)
       (delete-directory ,var t))))

(defun gastown-test-buffer-matches (buf regexp)
  "Return non-nil if BUF's text matches REGEXP."
  (and (buffer-live-p buf)
       (string-match-p regexp (gastown-test-buffer-text buf))))

(ert-deftest gastown-server-connects-logs-and-errors-in-one-line ()
  (gastown-test-with-town town
    (should (gastown-conn town))
    (should (gastown-connected-p town))
    (should (gastown-test-buffer-matches (get-buffer gastown-events-buffer-name)
                                         "--> initialize"))
    (let ((err (should-error (gastown-request 'bead/show '(:id "gt-nosuch") town)
                             :type 'user-error)))
      (should (string-match-p "\\`Gastown: .*gt-nosuch" (cadr err)))
      (should-not (string-match-p "\n\\|Traceback" (cadr err))))))

(ert-deftest gastown-server-convoys-update-by-push ()
  (gastown-test-with-town town
    (let* ((a (gastown-test-bead town "Alpha work" "-a" "gastown/polecats/nux"))
           (b (gastown-test-bead town "Beta work"))
           (convoy (plist-get (gastown-request 'convoy/create
                                               (list :title "Ship it" :tracked (vector a b))
                                               town)
                              :id))
           (buf (gastown-convoys town)))
      (should (stringp convoy))
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches buf (concat (regexp-quote b) " +open")))
       10 "the convoy buffer to show the tracked beads")
      (should (gastown-test-buffer-matches
               buf (concat "Ship it +" (regexp-quote convoy) " +0/2")))
      (should (gastown-test-buffer-matches
               buf (concat (regexp-quote a) " +open +gastown/polecats/nux +gastown +Alpha work")))
      ;; An agent closes a bead from its own process; no refresh command.
      (gastown-test-sh town "bd" "--actor" "gastown/polecats/nux" "close" a)
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches buf (concat (regexp-quote a) " +closed")))
       10 "the closed bead to show up by push")
      (should (gastown-test-buffer-matches buf "1/2")))))

(ert-deftest gastown-server-convoys-as-first-command ()
  ;; Opening the buffer is what connects: the connection hook must not
  ;; start a second load that the first one then clobbers.
  (gastown-test-with-town town
    (let* ((a (gastown-test-bead town "Made outside Emacs")))
      (gastown-test-sh town "gt" "rpc" "convoy/create"
                       (format "{\"title\": \"Outside\", \"tracked\": [\"%s\"]}" a))
      (should-not (gastown-connected-p town))
      (let ((buf (gastown-convoys town)))
        (gastown-test-wait-for
         (lambda () (gastown-test-buffer-matches buf (concat (regexp-quote a) " +open")))
         10 "the tracked bead in a buffer opened before connecting")
        (with-current-buffer buf
          ;; Shown, not merely present: no convoy section is collapsed.
          (should-not (cl-some (lambda (s) (oref s hidden))
                               (oref magit-root-section children))))))))

(ert-deftest gastown-server-reconnects-and-resumes-feed ()
  (gastown-test-with-town town
    (let* ((feed (gastown-feed town))
           (tracked (gastown-test-bead town "Tracked through the crash"))
           (_ (gastown-request 'convoy/create (list :title "Survivor" :tracked (vector tracked))
                               town))
           (convoys (gastown-convoys town))
           (first (gastown-test-bead town "Before the crash")))
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches feed (regexp-quote first)))
       10 "the feed to show the first bead")
      ;; The server dies mid-session.
      (let* ((conn (gastown-conn town))
             (proc (jsonrpc--process conn)))
        (signal-process proc 'KILL)
        (gastown-test-wait-for (lambda () (not (process-live-p proc))) 5 "the server to die")
        ;; Work goes on while it is down.
        (let ((second (gastown-test-bead town "While it was down")))
          (gastown-test-wait-for (lambda () (gastown-connected-p town)) 15 "reconnection")
          (should-not (eq (gastown-conn town) conn))
          ;; The feed resumed from its cursor: the missed event arrives.
          (gastown-test-wait-for
           (lambda () (gastown-test-buffer-matches feed (regexp-quote second)))
           10 "the missed event after reconnecting")
          (should (gastown-test-buffer-matches (get-buffer gastown-events-buffer-name)
                                               "server exited"))
          (should (gastown-test-buffer-matches (get-buffer "*Messages*")
                                               "server for .* exited.*reconnecting"))
          ;; Issue 15: the end of the outage is said too.
          (should (gastown-test-buffer-matches (get-buffer "*Messages*")
                                               "Gastown: reconnected to "))
          ;; The convoy buffer still works and still updates by push.
          (gastown-test-sh town "bd" "close" tracked)
          (gastown-test-wait-for
           (lambda () (gastown-test-buffer-matches
                       convoys (concat (regexp-quote tracked) " +closed")))
           10 "the convoy buffer to update after reconnecting"))))))

(ert-deftest gastown-server-mail-round-trip ()
  (gastown-test-with-town town
    (let ((inbox (gastown-mail town)))
      (gastown-mail-send "mayor" "Status?" "How are the convoys?" town)
      ;; It is in the Mayor's inbox, as the Mayor sees it.
      (let* ((res (gastown-request 'mail/inbox '(:address "mayor") town))
             (msg (car (gastown-result-items res :messages))))
        (should (equal (plist-get msg :subject) "Status?"))
        (should (equal (plist-get msg :sender) "overseer"))
        ;; The Mayor answers from its own process.
        (gastown-test-sh town (gastown-test--python) "-c"
                         (format "import sys; from gastown_server.beads.store import Ledger; \
from gastown_server.work import mail; \
mail.reply(Ledger(sys.argv[1]), %S, 'All green.', actor='mayor')"
                                 (plist-get msg :id))
                         (expand-file-name ".gastown/ledger.db" town))
        (gastown-test-wait-for
         (lambda () (gastown-test-buffer-matches inbox "mayor +.*Re: Status\\?"))
         10 "the reply to show in the Emacs inbox")
        (should (> (gethash town gastown-mail--unread 0) 0))
        (let ((gastown-mail-mode-line-mode t))
          (should (string-match-p "GT-mail:[1-9]" (gastown-mail-mode-line))))
        ;; Reading it opens its own buffer with the body.
        (with-current-buffer inbox
          (goto-char (point-min))
          (let* ((id (tabulated-list-get-id))
                 (read (gastown-mail-read id town)))
            (should (gastown-test-buffer-matches read "All green\\."))
            ;; Acked from the message buffer, it leaves the inbox.
            (with-current-buffer read (gastown-mail-ack))
            (gastown-test-wait-for
             (lambda () (not (gastown-test-buffer-matches inbox "Re: Status")))
             10 "the acked message to leave the inbox")
            ;; New mail from the Mayor arrives by push; archive it from the list.
            (gastown-test-sh town "gt" "rpc" "--actor" "mayor" "mail/send"
                             "{\"to\": \"overseer\", \"subject\": \"FYI\", \"body\": \"x\"}")
            (gastown-test-wait-for
             (lambda () (gastown-test-buffer-matches inbox "^ ?\\* +[a-z0-9-]+ +mayor +.*FYI"))
             10 "new mail to show, unread")
            (with-current-buffer inbox
              (goto-char (point-min))
              (re-search-forward "FYI")
              (gastown-mail-archive))
            (gastown-test-wait-for
             (lambda () (not (gastown-test-buffer-matches inbox "FYI")))
             10 "the archived message to leave the inbox")))))))

(ert-deftest gastown-server-mail-compose-buffer ()
  (gastown-test-with-town town
    (let ((buf (gastown-mail-compose "" town)))
      (with-current-buffer buf
        ;; Address completion on the To: line.
        (goto-char (point-min))
        (end-of-line)
        (insert "ma")
        (let ((capf (gastown-mail--complete-address)))
          (should capf)
          (should (member "mayor/" (all-completions "ma" (nth 2 capf)))))
        (delete-char -2)
        (insert "mayor")
        (goto-char (point-min))
        (forward-line 1)
        (end-of-line)
        (insert "From the compose buffer")
        (goto-char (point-max))
        (insert "Body text.")
        (gastown-mail-send-buffer))
      (should-not (buffer-live-p buf))
      (let* ((res (gastown-request 'mail/inbox '(:address "mayor") town))
             (msg (car (gastown-result-items res :messages))))
        (should (equal (plist-get msg :subject) "From the compose buffer"))
        (should (equal (plist-get msg :body) "Body text."))))))

(ert-deftest gastown-server-bead-view-updates-by-push ()
  (gastown-test-with-town town
    (let* ((id (gastown-test-bead town "Look at me" "-d" "Some description"))
           (buf (gastown-bead id town)))
      (should (gastown-test-buffer-matches buf "Status: +open"))
      (should (gastown-test-buffer-matches buf "Some description"))
      (gastown-test-sh town "bd" "close" id "--reason" "done by hand")
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches buf "Status: +closed"))
       10 "the bead view to show the close"))))

(ert-deftest gastown-dispatch-reaches-every-buffer ()
  (should (get 'gastown-dispatch 'transient--prefix))
  (dolist (cmd '(gastown-mayor gastown-transcript gastown-nudge gastown-attach
                 gastown-convoys gastown-sling gastown-bead gastown-feed
                 gastown-mail gastown-mail-compose gastown-agents gastown-peek
                 gastown-handoff gastown-seance gastown-connect gastown-reconnect
                 gastown-disconnect gastown-events))
    (should (transient-get-suffix 'gastown-dispatch cmd))
    (should (commandp cmd))))

;;;; Server tests with agents: gt install, script agents in real tmux

(defun gastown-test-tmux-socket (town)
  "Return the tmux socket name of TOWN."
  (let ((status (json-parse-string (gastown-test-sh town "gt" "status" "--json")
                                   :object-type 'plist)))
    (plist-get (plist-get status :tmux) :socket)))

(defmacro gastown-test-with-live-town (var &rest body)
  "Run BODY with VAR bound to an installed town whose Mayor and Deacon run.
The agents are the offline script runtime in a throwaway tmux server,
killed afterwards."
  (declare (indent 1))
  `(let* ((,var (gastown--normalize-town (make-temp-file "gastown-ert-live" t)))
          (gastown-reconnect-delays '(0.1 0.2 0.5))
          (socket nil))
     (unwind-protect
         (progn
           (gastown-test-sh ,var "gt" "install" ,var)
           ;; Known before anything starts, so teardown can always kill it.
           (setq socket (gastown-test-tmux-socket ,var))
           (gastown-test-sh ,var "gt" "up" "--no-daemon")
           ,@body)
       (gastown-test-kill-town-buffers ,var)
       (gastown-disconnect ,var)
       (remhash ,var gastown--states)
       (let ((default-directory ,var)
             (process-environment (cons (concat "GT_TOWN=" ,var) process-environment)))
         (call-process "gt" nil nil nil "down")
         (when socket
           (call-process "tmux" nil nil nil "-L" socket "kill-server")
           (let ((file (expand-file-name
                        socket (format "%s/tmux-%d" (or (getenv "TMUX_TMPDIR") "/tmp")
                                       (user-uid)))))
             (when (file-exists-p file) (delete-file file)))))
       (delete-directory ,var t))))

(defun gastown-test-pane (socket session)
  "Return the visible text of tmux SESSION on SOCKET."
  (with-temp-buffer
    (call-process "tmux" nil t nil "-L" socket "capture-pane" "-p" "-t" session)
    (buffer-string)))

(ert-deftest gastown-server-mayor-buffer-streams-and-nudges-the-pane ()
  (gastown-test-with-live-town town
    (let ((buf (gastown-mayor town)))
      ;; The script agent's start-up output is there (backlog or stream).
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches buf "=== gastown session"))
       15 "the Mayor's start-up output")
      ;; Type on the input line and send it: a nudge into the real pane.
      (with-current-buffer buf
        (goto-char (point-max))
        (insert "hello from emacs")
        (gastown-transcript-send-input)
        (should (equal (gastown-transcript--input) "")))
      ;; The agent's answer streams into the buffer, above the prompt...
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches buf "got: hello from emacs"))
       20 "the Mayor's answer to stream in")
      (with-current-buffer buf
        (should (string-match-p "got: hello from emacs"
                                (buffer-substring-no-properties
                                 (point-min) gastown-transcript--output-end)))
        (should (> gastown-transcript--offset 0)))
      ;; An agent that does not exist: one line, no stray buffer.
      (let ((err (should-error (gastown-transcript "nosuch/polecats/ghost" town)
                               :type 'user-error)))
        (should-not (string-match-p "\n" (cadr err)))
        (should-not (get-buffer "*gastown-transcript: nosuch/polecats/ghost*")))
      ;; ...and the text really reached the tmux pane.
      (should (string-match-p "hello from emacs" (gastown-test-pane socket "hq-mayor"))))))

(ert-deftest gastown-server-agents-buffer-and-transcript ()
  (gastown-test-with-live-town town
    (let ((buf (gastown-agents town)))
      (should (gastown-test-buffer-matches buf "^ *mayor +mayor +.*running"))
      ;; Each session's sandbox (gt up starts the Mayor in bwrap, with the tmux socket).
      (should (gastown-test-buffer-matches buf "^ *mayor .* bwrap\\+tmux *$"))
      (should (gastown-test-buffer-matches buf "^ *deacon +deacon"))
      (with-current-buffer buf
        (goto-char (point-min))
        (re-search-forward "^ *deacon ")
        (should (equal (tabulated-list-get-id) "deacon"))
        (let ((cmd (gastown-attach-command "deacon" town)))
          (should (equal (car cmd) "tmux"))
          (should (member socket cmd)))
        (save-window-excursion (gastown-agents-transcript)))
      ;; Work put on an agent's hook shows without a refresh command.
      (let ((id (gastown-test-bead town "Hooked work" "-a" "deacon")))
        (gastown-test-sh town "bd" "update" id "--status" "hooked")
        (gastown-test-wait-for
         (lambda () (gastown-test-buffer-matches buf (concat "deacon .*" (regexp-quote id))))
         10 "the hook column to show the new work"))
      (let ((tr (gastown-transcript "deacon" town)))
        (gastown-test-wait-for
         (lambda () (gastown-test-buffer-matches tr "deacon"))
         15 "the Deacon's transcript")
        ;; Output appended later streams in without any command.
        (gastown-nudge "deacon" "status please" town)
        (gastown-test-wait-for
         (lambda () (gastown-test-buffer-matches tr "got: status please"))
         20 "new Deacon output to stream in")))))

(ert-deftest gastown-server-handoff-peek-and-seance ()
  (gastown-test-with-live-town town
    (let ((peek (gastown-peek "mayor" town)))
      (should (gastown-test-buffer-matches peek "ready for input")))
    (let ((before (mapcar (lambda (s) (plist-get s :session_id))
                          (gastown-seance-sessions "mayor" town))))
      (gastown-handoff "mayor" town)
      (let* ((sessions (gastown-seance-sessions "mayor" town))
             (old (cl-find-if (lambda (s) (and (member (plist-get s :session_id) before)
                                               (not (gastown-true-p (plist-get s :current)))))
                              sessions)))
        (should (= (length sessions) (1+ (length before))))
        (should old)
        (let ((buf (gastown-seance "mayor" (plist-get old :session_id)
                                   "What is on your hook?" town)))
          (should (gastown-test-buffer-matches buf "Q: What is on your hook\\?"))
          (gastown-test-wait-for
           (lambda () (gastown-test-buffer-matches buf "A: .*\\(.\\|\n\\)*hook: empty"))
           30 "the predecessor's answer"))))))

(ert-deftest gastown-server-convoy-commands-and-two-towns ()
  (gastown-test-with-town town
    (gastown-test-with-town other
      (let* ((a (gastown-test-bead town "In the first town"))
             (b (gastown-test-bead other "In the second town"))
             (buf (gastown-convoys town))
             (buf2 (gastown-convoys other)))
        (should-not (eq buf buf2))
        (with-current-buffer buf
          (gastown-convoys-create "Made in Emacs" (list a)))
        (with-current-buffer buf2
          (gastown-convoys-create "Other town's convoy" (list b)))
        (gastown-test-wait-for
         (lambda () (and (gastown-test-buffer-matches buf "Made in Emacs")
                         (gastown-test-buffer-matches buf (regexp-quote a))
                         (gastown-test-buffer-matches buf2 "Other town's convoy")))
         10 "both convoy buffers to show their new convoy")
        (should-not (gastown-test-buffer-matches buf "Other town"))
        (should-not (gastown-test-buffer-matches buf2 "Made in Emacs"))
        ;; RET on a bead line opens the bead.
        (with-current-buffer buf
          (goto-char (gastown-find-property 'gastown-bead a))
          (save-window-excursion
            (gastown-convoys-visit)
            (should (equal (buffer-local-value 'gastown-bead-id (window-buffer)) a))))
        ;; Landing refuses while a tracked bead is open, then works.
        (with-current-buffer buf
          (let ((id (plist-get (car gastown-convoys--list) :id)))
            (should-error (gastown-convoys-land id) :type 'user-error)
            (gastown-test-sh town "bd" "close" a)
            (gastown-convoys-land id)
            (should (equal (plist-get (gastown-request 'bead/show (list :id id) town) :status)
                           "closed"))
            ;; A method the server lacks is one clear line.
            (let ((err (should-error (gastown-request 'convoy/no-such-method nil town)
                                     :type 'user-error)))
              (should (string-match-p "has no .convoy/no-such-method. method" (cadr err))))))))))

(ert-deftest gastown-server-convoy-add-and-forced-land ()
  (gastown-test-with-town town
    (let* ((a (gastown-test-bead town "First leg"))
           (b (gastown-test-bead town "Second leg"))
           (buf (gastown-convoys town))
           (inbox (gastown-mail town))
           id)
      (with-current-buffer buf
        (setq id (gastown-convoys-create "Relay" (list a)))
        (should (stringp id))
        ;; convoy/add: the new bead shows under the convoy by push.
        (gastown-convoys-add id (list b)))
      (gastown-test-wait-for
       (lambda () (and (gastown-test-buffer-matches buf (concat (regexp-quote b) " +open"))
                       (gastown-test-buffer-matches buf "Relay +[a-z0-9-]+ +0/2")))
       10 "the added bead under the convoy")
      (with-current-buffer buf
        ;; A bead that does not exist: one line naming it, nothing added.
        (let ((err (should-error (gastown-convoys-add id (list "gt-nope")) :type 'user-error)))
          (should (string-match-p "gt-nope" (cadr err))))
        (should (= 2 (length (plist-get (gastown-request 'convoy/tree (list :id id) town)
                                        :tracked))))
        ;; Open work: refused from Lisp, landed with FORCE (as the prompt's yes does).
        (let ((err (should-error (gastown-convoys-land id) :type 'user-error)))
          (should (string-match-p "2 open beads" (cadr err))))
        (gastown-convoys-land id t))
      (should (equal (plist-get (gastown-request 'bead/show (list :id id) town) :status) "closed"))
      ;; convoy/land mails CONVOY_LANDED to the Overseer: the inbox shows it by push.
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches inbox (concat "CONVOY_LANDED " (regexp-quote id))))
       10 "the landing mail in the inbox")
      (with-current-buffer buf
        (let ((err (should-error (gastown-convoys-land id t) :type 'user-error)))
          (should (string-match-p "already closed" (cadr err))))))))

(ert-deftest gastown-server-landed-convoys-show-under-recently-landed ()
  "Seen: right after the demo the convoys buffer said \"No convoys\"."
  (gastown-test-with-town town
    (let* ((a (gastown-test-bead town "The only leg"))
           (buf (gastown-convoys town))
           id)
      (with-current-buffer buf
        (setq id (gastown-convoys-create "Landing soon" (list a))))
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches buf (concat (regexp-quote a) " +open")))
       10 "the new convoy")
      ;; An agent finishes the work from its own process; the convoy lands.
      (gastown-test-sh town "bd" "close" a)
      (gastown-test-sh town "gt" "convoy" "check")
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches
                   buf (concat "Recently landed (1)\n +Landing soon +" (regexp-quote id) " +1/1 +landed ")))
       10 "the landed convoy under Recently landed, by push")
      (should (gastown-test-buffer-matches buf "No open convoys"))
      ;; A buffer opened afterwards (as right after the demo) shows it too.
      (kill-buffer buf)
      (let ((fresh (gastown-convoys town)))
        (gastown-test-wait-for
         (lambda () (gastown-test-buffer-matches fresh "Recently landed (1)\n +Landing soon"))
         10 "the landed convoy in a fresh buffer")
        (with-current-buffer fresh
          (goto-char (point-min))
          (search-forward "Landing soon")
          (should (equal (gastown-convoys--convoy-at-point) id))
          ;; A shows closed convoys in the main list instead; no Recently landed then.
          (gastown-convoys-toggle-closed))
        (gastown-test-wait-for
         (lambda () (and (gastown-test-buffer-matches fresh (concat "Landing soon +" (regexp-quote id)))
                         (not (gastown-test-buffer-matches fresh "Recently landed"))))
         10 "closed convoys in the main list")))))

(defun gastown-test--hint-shown-after (command)
  "Run COMMAND with M-x (it has a key binding); return non-nil if M-x's hint ran."
  (let ((map (make-sparse-keymap))
        (shown nil))
    (define-key map (kbd "C-c z") command)
    (let ((minor-mode-overriding-map-alist nil)
          (emulation-mode-map-alists (list (list (cons t map)))))
      (execute-extended-command nil (symbol-name command) (symbol-name command))
      (should (timerp execute-extended-command--binding-timer)) ; the hint is armed
      (setf (timer--function execute-extended-command--binding-timer)
            (lambda () (setq shown t)))
      (let ((deadline (+ (float-time) 3)))
        (while (and (not shown) (< (float-time) deadline)
                    (memq execute-extended-command--binding-timer timer-list))
          (accept-process-output nil 0.05))))
    shown))

(defun gastown-test--plain-message-command ()
  "Say something the plain way."
  (interactive)
  (message "Gastown: plain"))

(defun gastown-test--result-command ()
  "Say something with `gastown-result'."
  (interactive)
  (gastown-result "Gastown: slung gt-1 to demo"))

(ert-deftest gastown-result-is-not-hidden-by-the-key-binding-hint ()
  "Seen: the sling result was overwritten by \"You can run the command...\"."
  (let ((suggest-key-bindings t))
    (should (gastown-test--hint-shown-after #'gastown-test--plain-message-command))
    (should-not (gastown-test--hint-shown-after #'gastown-test--result-command))))

(ert-deftest gastown-server-transcript-keeps-lines-apart-where-history-meets-the-stream ()
  "Seen: \"ready for inputstatus please\": the history's last line and the
first streamed one were glued (the server's tail dropped its final newline)."
  (let* ((town (gastown--normalize-town (make-temp-file "gastown-ert-tr" t)))
         (gastown-reconnect-delays '(0.1 0.2 0.5))
         (log (expand-file-name ".gastown/transcripts/hq-mayor.log" town)))
    (unwind-protect
        (progn
          (gastown-test-sh town "gt" "install" town)
          (make-directory (file-name-directory log) t)
          (with-temp-file log (insert "[mayor] ready for input\r\n"))
          (let ((buf (gastown-transcript "mayor" town)))
            (gastown-test-wait-for
             (lambda () (gastown-test-buffer-matches buf "ready for input"))
             10 "the history")
            (write-region "You have mail from overseer: hi\r\n[mayor] got: status please\r\n"
                          nil log t)
            (gastown-test-wait-for
             (lambda () (gastown-test-buffer-matches buf "got: status please"))
             10 "the streamed lines")
            (should (gastown-test-buffer-matches
                     buf (concat "\\[mayor\\] ready for input\nYou have mail from overseer: hi\n"
                                 "\\[mayor\\] got: status please\n")))))
      (gastown-test-kill-town-buffers town)
      (gastown-disconnect town)
      (remhash town gastown--states)
      (delete-directory town t))))

(ert-deftest gastown-sling-summary-says-where-the-work-went ()
  (should (equal (gastown-sling-summary
                  '(:bead "gt-a" :title "Fix" :convoy "hq-cv1" :convoy_created t
                          :target "demo/polecats/nux" :agent "demo/polecats/nux" :rig "demo"
                          :polecat "nux" :session "gt-demo-nux" :formula ""
                          :session_status "started")
                  "gt-a" "demo")
                 "slung gt-a to demo/polecats/nux; session gt-demo-nux started; new convoy hq-cv1"))
  (should (equal (gastown-sling-summary
                  '(:bead "gt-m" :convoy "hq-cv2" :convoy_created :json-false :agent "deacon"
                          :formula "mol-review" :session "" :session_status "nudged")
                  "mol-review" "deacon")
                 "slung mol-review (gt-m) to deacon; nudged; convoy hq-cv2"))
  (should (equal (gastown-sling-summary nil "gt-x" "mayor") "slung gt-x to mayor")))

(ert-deftest gastown-server-attach-runs-a-real-terminal ()
  (gastown-test-with-live-town town
    (let ((gastown-terminal 'ansi-term))
      (save-window-excursion
        (gastown-attach "mayor" town)
        (let ((term (get-buffer "*gastown-tmux: mayor*")))
          (should term)
          (unwind-protect
              (gastown-test-wait-for
               (lambda () (gastown-test-buffer-matches term "ready for input"))
               15 "the attached terminal to show the Mayor's pane")
            (let ((proc (get-buffer-process term)))
              (when proc (delete-process proc)))
            (kill-buffer term)))))))

(ert-deftest gastown-server-convoy-updates-when-a-script-agent-closes-work ()
  ;; The work is slung to the Deacon (hooked, and the Deacon nudged); the
  ;; script agent walks the molecule and closes the bead itself.
  (gastown-test-with-live-town town
    (let* ((work (gastown-test-bead town "Ship the feature"))
           (_step (gastown-test-bead town "Step one" "--parent" work))
           (buf (gastown-convoys town)))
      (with-current-buffer buf
        (gastown-convoys-create "Feature convoy" (list work)))
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches buf (concat (regexp-quote work) " +open")))
       10 "the convoy with the work")
      ;; Already in a convoy: sling makes no new one.
      (should-not (eq (plist-get (gastown-sling work "deacon" town) :convoy_created) t))
      ;; The close lands the convoy: it moves to "Recently landed", by push.
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches
                   buf "Recently landed (1)\n +Feature convoy +[a-z0-9-]+ +1/1 +landed "))
       30 "the agent's close to land the convoy in the buffer")
      (should (equal (plist-get (gastown-request 'bead/show (list :id work) town) :status) "closed")))))

(ert-deftest gastown-server-sling-completion ()
  (gastown-test-with-live-town town
    (let ((ready (gastown-test-bead town "Ready work")))
      (should (member ready (gastown-bead-candidates town)))
      (let ((formulas (gastown-formula-candidates town)))
        (should formulas)
        (should (get-text-property 0 'gastown-annotation (car formulas))))
      ;; The sling picker: the real work and work formulas, no patrol formula
      ;; (and no molecule step) unless asked.
      (let ((offered (gastown-sling-candidates town)))
        (should (member ready offered))
        (should (member "mol-polecat-work" offered))
        (should-not (member "mol-witness-patrol" offered))
        (should (member "mol-witness-patrol" (gastown-sling-candidates town t)))
        (should (string-match-p "\\[patrol formula\\]"
                                (get-text-property
                                 0 'gastown-annotation
                                 (car (member "mol-witness-patrol" (gastown-sling-candidates town t)))))))
      (let ((targets (gastown-target-candidates town)))
        (should (member "mayor" targets))
        (should (member "deacon" targets)))
      ;; Annotated completion table.
      (let* ((table (gastown--completion-table (gastown-bead-candidates town) 'gastown-bead))
             (annot (alist-get 'annotation-function (cdr (funcall table "" nil 'metadata)))))
        (should (string-match-p "open +Ready work" (funcall annot ready))))
      ;; Slung to an agent: on its hook.
      (let ((res (gastown-sling ready "deacon" town)))
        (should (equal (plist-get res :agent) "deacon")))
      (let ((bead (gastown-request 'bead/show (list :id ready) town)))
        (should (equal (plist-get bead :assignee) "deacon"))
        (should (member (plist-get bead :status) '("hooked" "in_progress" "closed"))))
      ;; Bad input is one line naming it, and slings nothing.
      (let ((err (should-error (gastown-sling "gt-nope" "deacon" town) :type 'user-error)))
        (should (string-match-p "gt-nope" (cadr err)))))))

(ert-deftest gastown-server-sling-to-a-rig-spawns-a-polecat ()
  ;; A real sling: the rig spawns a script polecat in tmux with the work on
  ;; its hook; the agents and convoys buffers show it by push.
  (gastown-test-with-live-town town
    (let ((src (make-temp-file "gastown-ert-src" t)))
      (unwind-protect
          (progn
            (gastown-test-sh src "git" "init" "-q")
            (gastown-test-sh src "git" "-c" "user.name=ert" "-c" "user.email=ert@example.invalid"
                             "commit" "-q" "--allow-empty" "-m" "init")
            (gastown-test-sh town "gt" "rig" "add" "demo" src)
            (let* ((work (gastown-test-bead town "Polish the rig"))
                   (agents (gastown-agents town))
                   (convoys (gastown-convoys town)))
              (let* ((res (gastown-sling work "demo" town))
                       (polecat (plist-get res :polecat))
                       (agent (plist-get res :agent))
                       (session (plist-get res :session)))
                  (should (equal (plist-get res :bead) work))
                  (should (string-match-p "\\`demo/polecats/" agent))
                  (should (and (stringp polecat) (not (string-empty-p polecat))))
                  ;; The polecat's session runs in the town's tmux server.
                  (should (eql 0 (call-process "tmux" nil nil nil "-L" socket
                                               "has-session" "-t" session)))
                  (let ((bead (gastown-request 'bead/show (list :id work) town)))
                    (should (equal (plist-get bead :assignee) agent)))
                  (gastown-test-wait-for
                   (lambda () (gastown-test-buffer-matches
                               agents (concat (regexp-quote polecat) ".*" (regexp-quote work))))
                   15 "the polecat with its hook in the agents buffer")
                  ;; Loose work gets a convoy, shown with the work hooked to the polecat.
                  (should (plist-get res :convoy))
                  (gastown-test-wait-for
                   (lambda () (gastown-test-buffer-matches
                               convoys (concat (regexp-quote work) " +\\(hooked\\|in_progress\\|closed\\)")))
                   15 "the slung work in the convoys buffer"))))
        (delete-directory src t)))))

;;;; The merge queue, doctor and town status buffers

(defmacro gastown-test-with-installed-town (var &rest body)
  "Run BODY with VAR bound to a town made by `gt install' (no agents started)."
  (declare (indent 1))
  `(let* ((,var (gastown--normalize-town (make-temp-file "gastown-ert-inst" t)))
          (gastown-reconnect-delays '(0.1 0.2 0.5)))
     (unwind-protect
         (progn
           (gastown-test-sh ,var "gt" "install" ,var)
           ,@body)
       (gastown-test-kill-town-buffers ,var)
       (gastown-disconnect ,var)
       (remhash ,var gastown--states)
       (delete-directory ,var t))))

(defun gastown-test-merge-queue (town)
  "File two merge requests in TOWN, the second failed with gate output.
Return their ids.  Written with the server's own domain functions, as
the Refinery would."
  (split-string
   (gastown-test-sh
    town (gastown-test--python) "-c"
    (concat "import sys\n"
            "from gastown_server.beads.store import Ledger\n"
            "from gastown_server.paths import ledger_path\n"
            "from gastown_server.work import mail, merge_requests as m\n"
            "led = Ledger(ledger_path(sys.argv[1]))\n"
            "a, _ = m.submit(led, rig='proj', prefix='hq', branch='polecat/a', base='main', head='a'*40,"
            " polecat='proj/polecats/a', actor='t')\n"
            "b, _ = m.submit(led, rig='proj', prefix='hq', branch='polecat/b', base='main', head='b'*40,"
            " polecat='proj/polecats/b', actor='t')\n"
            "m.record(led, b, 'gate_failed', '', actor='proj/refinery', status=m.GATE_FAILED)\n"
            "mail.send(led, 'proj/polecats/b', 'MERGE_FAILED ' + b.id,"
            " 'Branch: polecat/b\\nMR: ' + b.id + '\\nError: FAILED test_gate_xyz', actor='proj/refinery')\n"
            "print(a.id, b.id)\n")
    town)))

(ert-deftest gastown-server-mq-buffer-sections-retry-reject ()
  (gastown-test-with-installed-town town
    (let* ((ids (gastown-test-merge-queue town))
           (waiting (car ids)) (failed (cadr ids))
           (buf (gastown-mq town)))
      (should (gastown-test-buffer-matches buf "^Pending (1)"))
      (should (gastown-test-buffer-matches buf "^Failed (1)"))
      (should (gastown-test-buffer-matches buf "FAILED test_gate_xyz"))
      (with-current-buffer buf
        ;; The gate output is the failed MR's body, hidden until expanded.
        (goto-char (point-min))
        (re-search-forward (concat "  " (regexp-quote failed)))
        (let ((section (magit-current-section)))
          (should (eq (oref section type) 'gastown-mq-mr))
          (should (oref section hidden))
          (magit-section-show section)
          (should-not (oref section hidden)))
        ;; A refusal is the server's one line, and nothing changes.
        (goto-char (point-min))
        (re-search-forward (concat "  " (regexp-quote waiting)))
        (let ((err (should-error (gastown-mq-retry (gastown-mq--at-point)) :type 'user-error)))
          (should (string-match-p "only a failed merge request can be retried" (cadr err))))
        (should (gastown-test-buffer-matches buf "^Pending (1)"))
        (goto-char (point-min))
        (re-search-forward (concat "  " (regexp-quote failed)))
        (gastown-mq-retry (gastown-mq--at-point))
        (should (gastown-test-buffer-matches buf "^Pending (2)"))
        (gastown-mq-reject waiting "wrong approach")
        (should (gastown-test-buffer-matches buf "^Pending (1)"))
        (should-not (gastown-test-buffer-matches buf (regexp-quote waiting)))
        (gastown-mq-toggle-all)
        (should (gastown-test-buffer-matches buf "rejected: wrong approach")))
      ;; A change made elsewhere (the CLI) arrives by push, without a refresh.
      (gastown-test-sh town "gt" "mq" "reject" failed "--reason" "elsewhere")
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches buf "rejected: elsewhere"))
       10 "the merge queue buffer to show a CLI reject"))))

(ert-deftest gastown-server-doctor-buffer-findings ()
  (gastown-test-with-installed-town town
    (let ((buf (gastown-doctor town)))
      (should (gastown-test-buffer-matches buf "^Doctor: .*error(s), [0-9]+ warning(s)"))
      (should (gastown-test-buffer-matches buf "^  ok +ledger "))
      ;; Problems come first, each with how to fix it.
      (let ((text (gastown-test-buffer-text buf)))
        (when (string-match-p "^  \\(error\\|warning\\) " text)
          (should (< (string-match "^  \\(error\\|warning\\) " text) (string-match "^  ok " text)))
          (should (string-match-p "^      fix: " text)))))))

(ert-deftest gastown-server-status-buffer-sections-and-push ()
  (gastown-test-with-installed-town town
    (let ((buf (gastown-status town)))
      (should (gastown-test-buffer-matches buf "^Health"))
      (should (gastown-test-buffer-matches buf "daemon +not running"))
      (should (gastown-test-buffer-matches buf "^  patrol +deacon +stopped"))
      (should (gastown-test-buffer-matches buf "^  costs "))
      (should (gastown-test-buffer-matches buf "^Agents ([0-9]+)"))
      (should (gastown-test-buffer-matches buf "^  mayor +mayor +stopped"))
      (should (gastown-test-buffer-matches buf "^Rigs (0)"))
      (should (gastown-test-buffer-matches buf "^Failures (0)"))
      ;; Work hooked on an agent elsewhere shows by push.
      (let ((id (gastown-test-bead town "Hooked work" "-a" "mayor")))
        (gastown-test-sh town "bd" "update" id "--status" "hooked")
        (gastown-test-wait-for
         (lambda () (gastown-test-buffer-matches buf (concat "mayor .*hook " (regexp-quote id))))
         10 "the status buffer to show the hooked work")))))

(provide 'gastown-tests)

;;; gastown-tests.el ends here
