;;; gastown-ops-tests.el --- ERT tests of the operator's buffers and verbs  -*- lexical-binding: t -*-

;;; Commentary:

;; Rigs, crew and polecat sessions, formula forms, molecule progress,
;; ready/blocked work, broadcast, escalate and any inbox, against the
;; real gastown-server on a town made by `gt install', with a real git
;; rig and script agents in a throwaway tmux server.  Loaded after
;; gastown-tests.el (its helpers).

;;; Code:

(require 'ert)
(require 'gastown-tests)
(require 'gastown-rigs)
(require 'gastown-polecats)
(require 'gastown-formula)
(require 'gastown-work)
(require 'gastown-beadlist)

(defun gastown-ops-test--git-repo ()
  "Return a fresh git repository with one commit."
  (let ((dir (make-temp-file "gastown-ert-src" t)))
    (dolist (args `(("init" "-q" "-b" "main" ,dir)
                    ("-C" ,dir "-c" "user.name=t" "-c" "user.email=t@example.invalid"
                     "commit" "-q" "--allow-empty" "-m" "init")))
      (should (eql 0 (apply #'call-process "git" nil nil nil args))))
    dir))

(defmacro gastown-ops-test-with-town (var &rest body)
  "Run BODY with VAR bound to an installed town; its tmux server is killed after."
  (declare (indent 1))
  `(let* ((,var (gastown--normalize-town (make-temp-file "gastown-ert-ops" t)))
          (gastown-reconnect-delays '(0.1 0.2 0.5))
          (socket nil))
     (unwind-protect
         (progn
           (gastown-test-sh ,var "gt" "install" ,var)
           (setq socket (gastown-test-tmux-socket ,var))
           ,@body)
       (gastown-test-kill-town-buffers ,var)
       (gastown-disconnect ,var)
       (remhash ,var gastown--states)
       (when socket
         (call-process "tmux" nil nil nil "-L" socket "kill-server"))
       (delete-directory ,var t))))

(defun gastown-ops-test--refusal (fn)
  "Call FN, which must signal a `user-error'; return its message."
  (cadr (should-error (funcall fn) :type 'user-error)))

(ert-deftest gastown-server-rigs-crew-and-session-verbs ()
  (gastown-ops-test-with-town town
    (let ((src (gastown-ops-test--git-repo)))
      (unwind-protect
          (let ((buf (gastown-rigs town)))
            (should (gastown-test-buffer-matches buf "^Rigs (0)"))
            (with-current-buffer buf
              (gastown-rig-add "proj" src "pj")
              (should (gastown-test-buffer-matches buf "^Rigs (1)"))
              (should (gastown-test-buffer-matches buf "^  proj  pj  0/2 running"))
              (should (string-match-p "already taken"
                                      (gastown-ops-test--refusal
                                       (lambda () (gastown-rig-add "again" src "pj")))))
              (gastown-crew-add "proj" "alice")
              (should (gastown-test-buffer-matches buf "^    proj/crew/alice +crew +stopped")))
            ;; Start, restart and stop through the verbs; the buffer follows by push.
            (should (string-match-p "started proj/crew/alice" (gastown-agent-start "proj/crew/alice" town)))
            (gastown-test-wait-for
             (lambda () (gastown-test-buffer-matches buf "proj/crew/alice +crew +\\(running\\|working\\|idle\\)"))
             15 "the rigs buffer to show alice running")
            (should (string-match-p "proj/crew/alice (session " (gastown-agent-restart "proj/crew/alice" town)))
            (should (string-match-p "stopped proj/crew/alice" (gastown-agent-stop "proj/crew/alice" town)))
            (gastown-test-wait-for
             (lambda () (gastown-test-buffer-matches buf "proj/crew/alice +crew +stopped"))
             15 "the rigs buffer to show alice stopped")
            (should (string-match-p "only a polecat can be nuked"
                                    (gastown-ops-test--refusal
                                     (lambda () (gastown-agent-nuke "proj/crew/alice" nil town)))))
            ;; A polecat with hooked work: nuke is refused with the server's reason; force goes through.
            (let* ((bead (gastown-test-bead town "Feature"))
                   (slung (json-parse-string (gastown-test-sh town "gt" "sling" bead "proj" "--no-start" "--json")
                                             :object-type 'plist))
                   (polecat (concat "proj/polecats/" (plist-get slung :polecat))))
              (gastown-test-wait-for
               (lambda () (gastown-test-buffer-matches buf (concat (regexp-quote polecat) " .*hook " bead)))
               15 "the rigs buffer to show the polecat with its hook")
              (with-current-buffer buf
                (goto-char (point-min))
                (re-search-forward (regexp-quote polecat))
                (should (equal (gastown-polecats--agent-at-point) polecat)))
              (let ((msg (gastown-ops-test--refusal (lambda () (gastown-agent-nuke polecat nil town)))))
                (should (string-match-p (concat "refusing to nuke " (regexp-quote polecat)) msg))
                (should-not (string-match-p "\n" msg)))
              (should (file-directory-p (expand-file-name (concat "proj/polecats/" (plist-get slung :polecat)) town)))
              (should (string-match-p (concat "back to open: " bead) (gastown-agent-nuke polecat t town)))
              (should-not (file-exists-p (expand-file-name (concat "proj/polecats/" (plist-get slung :polecat))
                                                           town)))))
        (delete-directory src t)))))

(ert-deftest gastown-server-rig-park-unpark-and-remove ()
  (gastown-ops-test-with-town town
    (let ((src (gastown-ops-test--git-repo)))
      (unwind-protect
          (let ((buf (gastown-rigs town)))
            (with-current-buffer buf
              (gastown-rig-add "yard" src "yd")
              (goto-char (point-min))
              (re-search-forward "^  yard ")
              (should (equal (gastown-rigs--rig-at-point) "yard"))
              (should (string-match-p "rig yard parked.*until gt rig unpark" (gastown-rig-park "yard" town)))
              (should (gastown-test-buffer-matches buf "^  yard  yd  0/2 running  parked"))
              (let ((msg (gastown-rig-unpark "yard" town)))
                (should (string-match-p "rig yard unparked; started yard/\\(witness\\|refinery\\)" msg)))
              (should-not (gastown-test-buffer-matches buf "parked")))
            (gastown-test-wait-for
             (lambda () (gastown-test-buffer-matches buf "^  yard  yd  2/2 running"))
             15 "the rigs buffer to show the rig's agents running")
            ;; Remove: asks first; a no keeps the rig.
            (with-current-buffer buf
              (goto-char (point-min))
              (re-search-forward "^  yard ")
              (cl-letf (((symbol-function 'completing-read)
                         (lambda (_prompt _coll &optional _pred _req _init _hist def &rest _) def))
                        ((symbol-function 'yes-or-no-p) (lambda (_prompt) nil)))
                (should (string-match-p "rig yard kept"
                                        (gastown-ops-test--refusal
                                         (lambda () (call-interactively #'gastown-rig-remove))))))
              (should (gastown-test-buffer-matches buf "^  yard "))
              ;; A yes, but its agents run: the server's refusal, one line, and nothing removed.
              (let ((asked nil))
                (cl-letf (((symbol-function 'completing-read)
                           (lambda (_prompt _coll &optional _pred _req _init _hist def &rest _) def))
                          ((symbol-function 'yes-or-no-p) (lambda (prompt) (setq asked prompt) t)))
                  (let ((msg (gastown-ops-test--refusal (lambda () (call-interactively #'gastown-rig-remove)))))
                    (should (string-match-p "rig 'yard' has running sessions" msg))
                    (should-not (string-match-p "\n" msg))))
                (should (string-match-p "Remove rig yard (its directory, agents and route)\\? " asked)))
              (should (file-directory-p (expand-file-name "yard" town)))
              (gastown-rig-park "yard" town)
              (cl-letf (((symbol-function 'completing-read)
                         (lambda (_prompt _coll &optional _pred _req _init _hist def &rest _) def))
                        ((symbol-function 'yes-or-no-p) (lambda (_prompt) t)))
                (should (string-match-p "removed rig yard (prefix yd)"
                                        (call-interactively #'gastown-rig-remove))))
              (should (gastown-test-buffer-matches buf "^Rigs (0)"))
              (should-not (file-exists-p (expand-file-name "yard" town))))
            (should (string-match-p "no rig 'yard'"
                                    (gastown-ops-test--refusal (lambda () (gastown-rig-park "yard" town)))))
            (dolist (cmd '(gastown-rig-park gastown-rig-unpark gastown-rig-remove))
              (should (transient-get-suffix 'gastown-rig-dispatch cmd))))
        (delete-directory src t)))))

(ert-deftest gastown-server-formula-form-refuses-missing-variable-then-pours ()
  (gastown-ops-test-with-town town
    (let ((buf (gastown-formula-run "release" town)))
      (with-current-buffer buf
        (should (string-match-p "^Run formula release" (buffer-string)))
        (should (string-match-p "^version \\*" (buffer-string)))
        (should (string-match-p "^publish +true" (buffer-string)))
        ;; Pouring with the required variable empty: the form says which, and marks it.
        (let ((msg (gastown-ops-test--refusal #'gastown-formula-pour)))
          (should (string-match-p "formula release needs variable version" msg)))
        (should (string-match-p "needs variable version: fill it in" (buffer-string)))
        (let ((w (cdr (assoc "version" gastown-formula--fields))))
          (should (eq (overlay-get (widget-get w :field-overlay) 'face) 'error)))
        (gastown-formula-form-set "version" "1.2.3")
        (gastown-formula-form-set "assignee" "mayor")
        (let* ((res (gastown-formula-pour))
               (id (plist-get res :id)))
          (should (string-match-p (concat "Poured " (regexp-quote id)) (buffer-string)))
          (let ((mol (gastown-molecule nil town id)))
            (should (gastown-test-buffer-matches mol (concat (regexp-quote id) " +release (version=1.2.3.*) +0/10 steps closed (0%)")))
            (should (gastown-test-buffer-matches mol "^  > [^ ]+ +open +Freeze main for 1.2.3")))
          ;; The molecule on an agent's hook, followed by push as its steps close.
          (gastown-test-sh town "bd" "update" id "--status" "hooked" "-a" "mayor")
          (let ((mol (gastown-molecule "mayor" town)))
            (should (gastown-test-buffer-matches mol "^Molecules of mayor (1 on its hook)"))
            (should (gastown-test-buffer-matches mol "0/[0-9]+ steps closed"))
            (let* ((st (json-parse-string (gastown-test-sh town "bd" "mol" "current" id "--json") :object-type 'plist))
                   (first (plist-get (aref (plist-get st :steps) 0) :id)))
              (gastown-test-sh town "bd" "close" first)
              (gastown-test-wait-for (lambda () (gastown-test-buffer-matches mol "1/[0-9]+ steps closed"))
                                     10 "the molecule buffer to count the closed step"))))))))

(ert-deftest gastown-server-work-board-broadcast-escalate-any-inbox ()
  (gastown-ops-test-with-town town
    (let* ((first (gastown-test-bead town "Lay the track"))
           (second (gastown-test-bead town "Run the train" "--deps" (concat "blocks:" first)))
           (buf (gastown-work town)))
      (should (gastown-test-buffer-matches buf "^Ready ([0-9]+)"))
      (should (gastown-test-buffer-matches buf (concat "^  " (regexp-quote first) " .*Lay the track")))
      (should (gastown-test-buffer-matches buf (concat "^  " (regexp-quote second) " .*Run the train  blocked by "
                                                       (regexp-quote first))))
      (with-current-buffer buf
        (goto-char (point-min))
        (re-search-forward (concat "^  " (regexp-quote second)))
        (should (equal (buffer-name (gastown-work-visit)) (buffer-name (gastown-bead second town)))))
      ;; b / B on a board line: the dependency verbs, about that line's bead.
      (let ((third (gastown-test-bead town "Paint the station")))
        (gastown-test-wait-for (lambda () (gastown-test-buffer-matches buf (concat "^  " (regexp-quote third) " ")))
                               10 "the new bead on the board")
        (with-current-buffer buf
          (should (eq (key-binding (kbd "b")) #'gastown-bead-dep-add))
          (should (eq (key-binding (kbd "B")) #'gastown-bead-dep-remove))
          (goto-char (point-min))
          (re-search-forward (concat "^  " (regexp-quote third)))
          (should (equal (gastown-bead-dep--subject) third))
          (gastown-bead-dep-add third first nil town))
        (gastown-test-wait-for
         (lambda () (gastown-test-buffer-matches buf (concat "^  " (regexp-quote third) " .*blocked by " (regexp-quote first))))
         10 "the board to show the new blocker by push")
        (gastown-bead-dep-remove third first town)
        (gastown-test-wait-for
         (lambda () (not (gastown-test-buffer-matches buf (concat "^  " (regexp-quote third) " .*blocked by"))))
         10 "the board to show the bead ready again"))
      (gastown-test-sh town "bd" "close" first)
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches buf "^Blocked (0)"))
       10 "the work buffer to unblock the second bead by push")
      (should (string-match-p "sent [0-9]+ message(s): .*mayor"
                              (gastown-broadcast "Freeze at noon" "no merges" nil nil town)))
      (let ((inbox (gastown-inbox "mayor/" town)))
        (should (gastown-test-buffer-matches inbox "^Inbox of mayor"))
        (should (gastown-test-buffer-matches inbox "Freeze at noon"))
        (should (string-match-p "escalated .* \\[critical\\]"
                                (gastown-escalate "Refinery keeps failing" "critical" "see mq" town)))
        (let ((over (gastown-inbox "overseer" town)))
          (gastown-test-wait-for (lambda () (gastown-test-buffer-matches over "Refinery keeps failing"))
                                 10 "the escalation in the Overseer's inbox")))
      (should (string-match-p "needs a subject"
                              (gastown-ops-test--refusal (lambda () (gastown-broadcast " " "" nil nil town))))))))

(ert-deftest gastown-ops-transients-put-each-verb-two-keys-away ()
  (dolist (sub '(gastown-rig-dispatch gastown-agent-dispatch gastown-formula-dispatch gastown-ops-dispatch))
    (should (transient-get-suffix 'gastown-dispatch sub)))
  (pcase-dolist (`(,prefix . ,cmds)
                 '((gastown-rig-dispatch gastown-rigs gastown-rig-add gastown-crew-add)
                   (gastown-agent-dispatch gastown-agent-start gastown-agent-stop gastown-agent-restart
                                           gastown-agent-nuke gastown-agent-nuke-force gastown-molecule)
                   (gastown-formula-dispatch gastown-formula-run)
                   (gastown-ops-dispatch gastown-work gastown-broadcast gastown-escalate gastown-inbox)))
    (dolist (cmd cmds)
      (should (transient-get-suffix prefix cmd))
      (should (commandp cmd)))))

(provide 'gastown-ops-tests)

;;; gastown-ops-tests.el ends here
